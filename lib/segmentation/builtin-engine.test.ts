import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { replaceAscii } from '@/lib/testing/dicom-series';
import { DEFAULT_PHANTOM, phantomSeries, phantomValues, phantomVolumes, type CtPhantom } from '@/lib/testing/ct-phantom';
import { builtinEngine, CT_THRESHOLDS, LABELS, otsuThreshold } from './builtin-engine';
import { measureStructures, voxelVolumeMl } from './structures';
import type { ImageVolume, Structure } from './types';
import { volumeFromDicom, type DicomSource } from './volume';

const DICOM = path.resolve(import.meta.dirname, '../dicom/__fixtures__');
const expected = JSON.parse(readFileSync(path.join(import.meta.dirname, '__fixtures__/expected-ct.json'), 'utf8')) as Record<
  string,
  Record<'body' | 'lungs' | 'bone' | 'air', { voxels: number; volumeMl: number }>
>;
const LIMITS = { maxVoxels: 50_000_000 };

function sources(files: Uint8Array[]): DicomSource[] {
  return files.map((bytes) => ({ read: async () => bytes }));
}

async function segment(volume: ImageVolume): Promise<Record<string, Structure>> {
  const output = await builtinEngine.run(volume, {}, new AbortController().signal);
  expect(output.labels).toHaveLength(volume.data.length);
  return Object.fromEntries(measureStructures(output.labels, output.structures, voxelVolumeMl(volume)).map((s) => [s.name, s]));
}

function phantomVolume(p: CtPhantom): ImageVolume {
  return {
    dims: [p.size, p.size, p.slices],
    spacing: [p.pixelMm, p.pixelMm, p.sliceMm],
    affine: [
      [-p.pixelMm, 0, 0, 0],
      [0, -p.pixelMm, 0, 0],
      [0, 0, p.sliceMm, 0],
      [0, 0, 0, 1],
    ],
    data: phantomValues(p),
    modality: 'CT',
    hounsfield: true,
    spacingKnown: true,
    sliceUids: null,
    source: 'dicom',
    warnings: [],
  };
}

/** Relative error against the continuous shape. */
const relative = (got: number, want: number) => Math.abs(got - want) / want;

describe('built-in engine on real corpus CT', () => {
  const file = (name: string) => new Uint8Array(readFileSync(path.join(DICOM, name)));

  it('ct_small (128×128, 0.66 mm, 5 mm): matches the independent numpy/scipy calculation voxel for voxel', async () => {
    const volume = await volumeFromDicom(sources([file('ct_small_explicit_le.dcm')]), LIMITS);
    expect(volume.dims).toEqual([128, 128, 1]);
    expect(volume.spacing).toEqual([0.661468, 0.661468, 5]);
    expect(volume.hounsfield).toBe(true);
    const got = await segment(volume);
    for (const name of ['body', 'lungs', 'bone', 'air'] as const) {
      expect(got[name], name).toMatchObject(expected.ct_small_explicit_le![name]!);
    }
  });

  it('ct_small stacked into 8 slices 5 mm apart: the 3D volume matches too', async () => {
    const base = Buffer.from(file('ct_small_explicit_le.dcm'));
    // Same pixels, fresh SOP UIDs, positions 5 mm apart (strings of equal length, written in place).
    const sop = '1.3.6.1.4.1.5962.1.1.1.1.1.20040119072730.12322';
    const files = Array.from({ length: 8 }, (_, k) => {
      const renamed = replaceAscii(base, sop, `${sop.slice(0, -2)}${String(10 + k)}`);
      return new Uint8Array(replaceAscii(renamed, '\\-75.699997', `\\${(-75.699997 + 5 * k).toFixed(6)}`));
    });
    // Shuffled: the builder orders by position.
    const volume = await volumeFromDicom(sources([files[5]!, files[0]!, files[7]!, files[2]!, files[1]!, files[6]!, files[3]!, files[4]!]), LIMITS);
    expect(volume.dims).toEqual([128, 128, 8]);
    expect(volume.spacing[2]).toBeCloseTo(5, 6);
    expect(volume.sliceUids).toEqual(Array.from({ length: 8 }, (_, k) => `${sop.slice(0, -2)}${10 + k}`));
    const got = await segment(volume);
    for (const name of ['body', 'lungs', 'bone', 'air'] as const) expect(got[name], name).toMatchObject(expected.ct_small_x8![name]!);
  });

  it('ct_ankle, uncompressed and JPEG Lossless: same labels, matching the independent calculation (1 mm assumed)', async () => {
    const plain = await volumeFromDicom(sources([file('ct_ankle_implicit.dcm')]), LIMITS);
    const jpeg = await volumeFromDicom(sources([file('ct_ankle_jpeg_lossless_sv1.dcm')]), LIMITS);
    expect(plain.spacingKnown).toBe(false);
    expect(plain.warnings.join(' ')).toMatch(/Pixel Spacing/);
    const a = await builtinEngine.run(plain, {}, new AbortController().signal);
    const b = await builtinEngine.run(jpeg, {}, new AbortController().signal);
    expect(Buffer.from(a.labels).equals(Buffer.from(b.labels))).toBe(true);
    const got = await segment(plain);
    for (const name of ['body', 'lungs', 'bone', 'air'] as const) expect(got[name], name).toMatchObject(expected.ct_ankle![name]!);
  });
});

describe('built-in engine on phantoms of known geometry', () => {
  it('a sphere of air in a body cylinder with a bone rod: volumes within 2 % of the shapes', async () => {
    const want = phantomVolumes(DEFAULT_PHANTOM);
    const got = await segment(phantomVolume(DEFAULT_PHANTOM));
    expect(relative(got.lungs!.volumeMl, want.lungs)).toBeLessThan(0.02);
    expect(relative(got.bone!.volumeMl, want.bone)).toBeLessThan(0.02);
    expect(relative(got.body!.volumeMl, want.body)).toBeLessThan(0.02);
    expect(relative(got.air!.volumeMl, want.air)).toBeLessThan(0.02);
    // Sanity of the shapes themselves: 4/3·π·18³ mm³ = 24.429 mL.
    expect(want.lungs).toBeCloseTo(24.429, 3);
  });

  it('scales with anisotropic voxels: the same phantom in 0.8 × 0.8 × 2 mm voxels', async () => {
    const p: CtPhantom = { ...DEFAULT_PHANTOM, size: 150, slices: 24, pixelMm: 0.8, sliceMm: 2 };
    const want = phantomVolumes(p);
    const got = await segment(phantomVolume(p));
    expect(relative(got.lungs!.volumeMl, want.lungs)).toBeLessThan(0.03);
    expect(relative(got.bone!.volumeMl, want.bone)).toBeLessThan(0.02);
  });

  it('a gas pocket under 5 mL stays body', async () => {
    const p: CtPhantom = { ...DEFAULT_PHANTOM, sphereRadiusMm: 10 }; // 4.19 mL < 5 mL
    const volume = phantomVolume(p);
    const got = await segment(volume);
    expect(got.lungs!.voxels).toBe(0);
    expect(relative(got.body!.volumeMl, phantomVolumes(p).body + phantomVolumes(p).lungs)).toBeLessThan(0.02);
    expect(CT_THRESHOLDS.lungMinMl).toBe(5);
  });

  it('through DICOM: a phantom series gives the same label map as the raw phantom', async () => {
    const p: CtPhantom = { ...DEFAULT_PHANTOM, size: 96, slices: 40, bodyRadiusMm: 40, sphereRadiusMm: 15, sphereOffsetMm: 12, boneOffsetMm: -22 };
    const series = phantomSeries(p);
    const volume = await volumeFromDicom(sources(series.files.map((f) => new Uint8Array(f)).reverse()), LIMITS);
    expect(volume.dims).toEqual([96, 96, 40]);
    expect(volume.sliceUids).toEqual(series.sopUids);
    // LPS (x to the patient's left) becomes RAS: i runs towards −x.
    expect(volume.affine[0][0]).toBeCloseTo(-1);
    expect(volume.affine[2][2]).toBeCloseTo(1);
    const fromDicom = await builtinEngine.run(volume, {}, new AbortController().signal);
    const direct = await builtinEngine.run(phantomVolume(p), {}, new AbortController().signal);
    expect(Buffer.from(fromDicom.labels).equals(Buffer.from(direct.labels))).toBe(true);
    expect(fromDicom.labels.includes(LABELS.lungs)).toBe(true);
  });

  it('stops when its signal fires', async () => {
    const controller = new AbortController();
    controller.abort(new Error('stop'));
    await expect(builtinEngine.run(phantomVolume(DEFAULT_PHANTOM), {}, controller.signal)).rejects.toThrow('stop');
  });
});

describe('built-in engine, other modalities: body mask', () => {
  it('the corpus NIfTI phantom: the body is the whole object, 5213.52 mL (numpy: voxels ≠ 0 of 1 mm³)', async () => {
    const { gunzipSync } = await import('node:zlib');
    const { volumeFromNifti } = await import('./volume');
    const bytes = gunzipSync(readFileSync(path.resolve(import.meta.dirname, '../nifti/__fixtures__/niigz_big_phantom_256x256x200_int16.nii.gz')));
    const volume = volumeFromNifti(new Uint8Array(bytes), null, LIMITS);
    expect(volume.hounsfield).toBe(false);
    const got = await segment(volume);
    expect(Object.keys(got)).toEqual(['body']);
    // The value -800 inside the object is below the threshold; filling holes brings it back.
    expect(got.body!.voxels).toBe(5213520);
    expect(got.body!.volumeMl).toBe(5213.52);
  });

  it('otsuThreshold separates two populations', () => {
    const values = [...Array(600).fill(0), ...Array(300).fill(400), ...Array(100).fill(1000)];
    const t = otsuThreshold(values);
    expect(t).toBeGreaterThan(0);
    expect(t).toBeLessThan(400);
  });
});
