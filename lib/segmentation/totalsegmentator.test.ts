import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { resetEnvForTests } from '@/lib/env';
import { readNiftiVolume, worldMatrix } from '@/lib/nifti';
import { installFakeTotalSegmentator } from '@/lib/testing/fake-totalsegmentator';
import { measureStructures, voxelVolumeMl } from './structures';
import { labelTableOf, totalSegmentatorEngine } from './totalsegmentator';
import { SegmentationError, type ImageVolume } from './types';

const FAKE = path.resolve(import.meta.dirname, '__fixtures__/fake-totalsegmentator.mjs');

/** 20 × 16 × 10 voxels of 0.8 × 0.8 × 2.5 mm with blocks the stand-in "recognises" by value. */
function blocksVolume(modality = 'CT'): ImageVolume {
  const dims: [number, number, number] = [20, 16, 10];
  const data = new Int16Array(dims[0] * dims[1] * dims[2]).fill(-1000);
  const box = (value: number, [x0, x1]: number[], [y0, y1]: number[], [z0, z1]: number[]) => {
    for (let z = z0!; z < z1!; z++) for (let y = y0!; y < y1!; y++) for (let x = x0!; x < x1!; x++) data[(z * dims[1] + y) * dims[0] + x] = value;
  };
  box(100, [2, 8], [3, 8], [1, 5]); // liver: 6 × 5 × 4 = 120 voxels
  box(200, [12, 15], [2, 5], [2, 5]); // spleen: 27
  box(300, [15, 17], [10, 12], [6, 8]); // kidney_left: 8
  return {
    dims,
    spacing: [0.8, 0.8, 2.5],
    affine: [
      [-0.8, 0, 0, 10],
      [0, -0.8, 0, 20],
      [0, 0, 2.5, -30],
      [0, 0, 0, 1],
    ],
    data,
    modality,
    hounsfield: modality === 'CT',
    spacingKnown: true,
    sliceUids: null,
    source: 'dicom',
    warnings: [],
  };
}

const VOXEL_ML = (0.8 * 0.8 * 2.5) / 1000;

async function run(options: Parameters<typeof totalSegmentatorEngine.run>[1] = {}, volume = blocksVolume(), signal = new AbortController().signal) {
  const output = await totalSegmentatorEngine.run(volume, options, signal);
  return { output, structures: measureStructures(output.labels, output.structures, voxelVolumeMl(volume)) };
}

describe('TotalSegmentator CLI adapter (stand-in executable on PATH)', () => {
  let fake: ReturnType<typeof installFakeTotalSegmentator>;

  beforeEach(() => {
    fake = installFakeTotalSegmentator();
    delete process.env.TOTALSEGMENTATOR_URL;
    delete process.env.TOTALSEGMENTATOR_PATH;
    resetEnvForTests();
  });
  afterEach(() => {
    fake.restore();
    resetEnvForTests();
  });

  it('is available when TotalSegmentator is on PATH, and not otherwise', async () => {
    expect(await totalSegmentatorEngine.available()).toBe(true);
    process.env.PATH = '/nonexistent';
    expect(await totalSegmentatorEngine.available()).toBe(false);
    process.env.TOTALSEGMENTATOR_PATH = FAKE;
    resetEnvForTests();
    expect(await totalSegmentatorEngine.available()).toBe(true);
  });

  it('runs `-i input.nii.gz -o segmentations` and reads one <structure>.nii.gz per class', async () => {
    const { structures, output } = await run();
    expect(structures.map((s) => [s.name, s.label, s.voxels])).toEqual([
      ['spleen', 1, 27],
      ['kidney_left', 3, 8],
      ['liver', 5, 120],
    ]);
    // The empty gallbladder mask is not listed; volumes are voxels × 1.6 mm³.
    expect(structures.find((s) => s.name === 'liver')!.volumeMl).toBeCloseTo(120 * VOXEL_ML, 6);
    expect(output.model).toBe('TotalSegmentator total');
    const [call] = fake.runs();
    expect(call!.argv).toHaveLength(4);
    expect(call!.argv[0]).toBe('-i');
    expect(call!.argv[1]).toMatch(/input\.nii\.gz$/);
    expect(call!.argv[2]).toBe('-o');
    expect(call!.argv[3]).toMatch(/segmentations$/);
  });

  it('passes --fast and --roi_subset, and gets only those classes back', async () => {
    const { structures, output } = await run({ fast: true, roiSubset: ['liver', 'gallbladder'] });
    expect(fake.runs()[0]!.argv.slice(4)).toEqual(['--fast', '--roi_subset', 'liver', 'gallbladder']);
    // A requested class that is empty still has its row, at 0 mL.
    expect(structures.map((s) => [s.name, s.voxels])).toEqual([
      ['gallbladder', 0],
      ['liver', 120],
    ]);
    expect(output.model).toBe('TotalSegmentator total (fast)');
  });

  it('with --ml reads the one multi-label file and takes the names from its label table', async () => {
    const { structures } = await run({ multilabel: true });
    const argv = fake.runs()[0]!.argv;
    expect(argv[3]).toMatch(/segmentations\.nii\.gz$/);
    expect(argv).toContain('--ml');
    expect(structures.map((s) => [s.name, s.label, s.voxels])).toEqual([
      ['spleen', 1, 27],
      ['kidney_left', 3, 8],
      ['liver', 5, 120],
    ]);
  });

  it('writes the input as NIfTI with the volume geometry, and uses the MR task for MR', async () => {
    // The stand-in's input is gone after the run; keep a copy by running it by hand on what we write.
    const { writeInputNifti } = await import('./totalsegmentator');
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ts-input-'));
    const file = path.join(dir, 'in.nii.gz');
    await writeInputNifti(blocksVolume(), file);
    const nifti = readNiftiVolume(new Uint8Array(gunzipSync(readFileSync(file))));
    expect(nifti.shape).toEqual([20, 16, 10]);
    expect(worldMatrix(nifti.header).matrix[0]).toEqual([-0.800000011920929, 0, 0, 10]);
    expect(nifti.stored[(2 * 16 + 4) * 20 + 3]).toBe(100);

    await run({}, blocksVolume('MR'));
    expect(fake.runs()[0]!.argv.slice(4)).toEqual(['-ta', 'total_mr']);
  });

  it('a non-zero exit fails with the exit code and the end of its output', async () => {
    fake.setMode('fail');
    await expect(run()).rejects.toThrow(/^TotalSegmentator exited with code 1: Predicting\.\.\.\nRuntimeError: CUDA out of memory/);
  });

  it('missing outputs fail clearly, in both layouts', async () => {
    fake.setMode('no-output');
    await expect(run()).rejects.toThrow('TotalSegmentator finished but wrote no masks');
    await expect(run({ multilabel: true })).rejects.toThrow('TotalSegmentator finished but wrote no multi-label file');
  });

  it('masks on another grid are refused', async () => {
    fake.setMode('wrong-shape');
    await expect(run()).rejects.toThrow("is 21 × 16 × 10 voxels, not the input's 20 × 16 × 10");
  });

  it('unknown classes are refused before anything runs', async () => {
    await expect(run({ roiSubset: ['liver', 'unicorn'] })).rejects.toThrow('Unknown TotalSegmentator class for task total: unicorn.');
    expect(fake.runs()).toHaveLength(0);
  });

  it('a run that outlasts its signal is killed', async () => {
    fake.setMode('hang');
    const signal = AbortSignal.timeout(1500);
    await expect(run({}, blocksVolume(), signal)).rejects.toThrow(/timed out|aborted/i);
    const pid = fake.runs()[0]!.pid;
    await expect
      .poll(() => {
        try {
          process.kill(pid, 0);
          return 'running';
        } catch {
          return 'gone';
        }
      })
      .toBe('gone');
  });

  it('an executable that is not there fails with a message saying what to install', async () => {
    process.env.PATH = '/nonexistent';
    await expect(run()).rejects.toThrow(SegmentationError);
    await expect(run()).rejects.toThrow(/put `TotalSegmentator` on PATH/);
  });
});

describe('TotalSegmentator HTTP service adapter', () => {
  let server: Server;
  let url: string;
  const seen: { query: URLSearchParams; authorization: string | undefined; bytes: number }[] = [];
  let failNext = false;

  beforeAll(async () => {
    // The service stand-in runs the CLI stand-in with --ml on what it receives, as a wrapper around TotalSegmentator would.
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const query = new URL(req.url!, 'http://x').searchParams;
        seen.push({ query, authorization: req.headers.authorization, bytes: Buffer.concat(chunks).length });
        if (failNext) {
          failNext = false;
          res.writeHead(500, { 'content-type': 'text/plain' }).end('model weights missing');
          return;
        }
        const dir = mkdtempSync(path.join(os.tmpdir(), 'ts-http-'));
        writeFileSync(path.join(dir, 'in.nii.gz'), Buffer.concat(chunks));
        const args = ['-i', path.join(dir, 'in.nii.gz'), '-o', path.join(dir, 'out.nii.gz'), '--ml'];
        const rois = query.get('roi_subset');
        if (rois) args.push('--roi_subset', ...rois.split(','));
        const result = spawnSync(process.execPath, [FAKE, ...args], { env: { ...process.env, FAKE_TOTALSEG_MODE: 'ok', FAKE_TOTALSEG_LOG: '' } });
        if (result.status !== 0) {
          res.writeHead(500).end(result.stderr);
          return;
        }
        res.writeHead(200, { 'content-type': 'application/gzip' }).end(readFileSync(path.join(dir, 'out.nii.gz')));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/segment`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
  beforeEach(() => {
    process.env.TOTALSEGMENTATOR_URL = url;
    process.env.TOTALSEGMENTATOR_TOKEN = 'service-secret';
    process.env.PATH = '/nonexistent-so-the-cli-is-not-used';
    resetEnvForTests();
  });
  afterEach(() => {
    delete process.env.TOTALSEGMENTATOR_URL;
    delete process.env.TOTALSEGMENTATOR_TOKEN;
    resetEnvForTests();
  });
  const PATH = process.env.PATH;
  afterAll(() => {
    process.env.PATH = PATH;
  });

  it('posts the volume with the options and reads the multi-label answer', async () => {
    expect(await totalSegmentatorEngine.available()).toBe(true);
    const { structures } = await run({ fast: true, roiSubset: ['liver', 'spleen'] });
    expect(structures.map((s) => [s.name, s.voxels])).toEqual([
      ['spleen', 27],
      ['liver', 120],
    ]);
    const request = seen.at(-1)!;
    expect(Object.fromEntries(request.query)).toEqual({ task: 'total', fast: 'true', roi_subset: 'liver,spleen' });
    expect(request.authorization).toBe('Bearer service-secret');
    expect(request.bytes).toBeGreaterThan(100);
  });

  it('an error answer fails with its status and text', async () => {
    failNext = true;
    await expect(run()).rejects.toThrow('The TotalSegmentator service answered HTTP 500: model weights missing');
  });

  it('an unreachable service fails clearly', async () => {
    process.env.TOTALSEGMENTATOR_URL = 'http://127.0.0.1:9/segment';
    resetEnvForTests();
    await expect(run()).rejects.toThrow(/The TotalSegmentator service at http:\/\/127\.0\.0\.1:9 cannot be reached/);
  });
});

describe('labelTableOf', () => {
  it('reads the CaretExtension label table TotalSegmentator writes', () => {
    const xml = '<CaretExtension><LabelTable><Label Key="5" Red="1" Green="0" Blue="0" Alpha="1"><![CDATA[liver]]></Label>\n<Label Key="1" Red="0" Green="1" Blue="0" Alpha="1"><![CDATA[spleen]]></Label></LabelTable></CaretExtension>';
    const header = Buffer.alloc(352);
    header.writeInt32LE(348, 0);
    header.writeInt16LE(3, 40);
    for (let i = 1; i < 8; i++) header.writeInt16LE(1, 40 + 2 * i);
    header.writeInt16LE(2, 70);
    header.writeInt16LE(8, 72);
    header.write('n+1\0', 344, 'latin1');
    header[348] = 1;
    const size = Math.ceil((xml.length + 8) / 16) * 16;
    const extension = Buffer.alloc(size);
    extension.writeInt32LE(size, 0);
    Buffer.from(xml).copy(extension, 8);
    const file = Buffer.concat([header, extension, Buffer.alloc(1)]);
    file.writeFloatLE(352 + size, 108);
    expect([...labelTableOf(new Uint8Array(file))]).toEqual([
      [5, 'liver'],
      [1, 'spleen'],
    ]);
  });
});
