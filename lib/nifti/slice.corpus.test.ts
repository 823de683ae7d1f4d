import { createHash } from 'node:crypto';
import { createReadStream, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import {
  extractSlice,
  readNiftiBytes,
  readNiftiVolume,
  sliceCounts,
  sliceVoxel,
  storedAsNumbers,
  valueStats,
  type NiftiSlice,
  type NiftiStoredArray,
  type NiftiVolume,
} from './index';
import { FIXTURES_DIR, fixturePath, loadFixtureManifest, type FixtureEntry, type SliceStatsReference } from './test-helpers';

const fixtures = loadFixtureManifest();
const good = fixtures.filter((f) => !f.expect_error);

function fileBytes(entry: FixtureEntry): Uint8Array {
  const raw = readFileSync(fixturePath(entry.file));
  return entry.file.endsWith('.gz') ? gunzipSync(raw) : raw;
}

/**
 * The manifest hashes data[:, :, k, 0] as a C-order (nx, ny) array: i varies slowest. The
 * voxel-mode slice is row-major with x = i and row 0 = highest j, so it is re-laid out here.
 */
function referenceOrderBytes(slice: NiftiSlice): Buffer {
  const { width: nx, height: ny, stored } = slice;
  const Ctor = stored.constructor as new (length: number) => NiftiStoredArray;
  const out = new Ctor(nx * ny);
  for (let i = 0; i < nx; i++) {
    for (let j = 0; j < ny; j++) out[i * ny + j] = stored[(ny - 1 - j) * nx + i]!;
  }
  return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
}

function expectStats(actual: ReturnType<typeof valueStats>, expected: SliceStatsReference, exact: boolean, what: string) {
  expect(actual.nonFiniteCount, `${what} non-finite count`).toBe(expected.nonfinite_count ?? 0);
  const tolerance = (v: number) => (exact ? 0 : 1e-4 * Math.max(1, Math.abs(v)));
  expect(Math.abs(actual.min - expected.min), `${what} min ${actual.min} vs ${expected.min}`).toBeLessThanOrEqual(tolerance(expected.min));
  expect(Math.abs(actual.max - expected.max), `${what} max ${actual.max} vs ${expected.max}`).toBeLessThanOrEqual(tolerance(expected.max));
  // The manifest rounds means to 6 decimals.
  const meanTolerance = exact ? 5e-7 + 1e-12 * Math.abs(expected.mean) : tolerance(expected.mean);
  expect(Math.abs(actual.mean - expected.mean), `${what} mean ${actual.mean} vs ${expected.mean}`).toBeLessThanOrEqual(meanTolerance);
}

/** The corpus rendering: min-max of the finite values to 0..255, NaN as 0. */
function renderMinMax(slice: NiftiSlice): Uint8Array {
  const { min, max } = valueStats(slice.data);
  const out = new Uint8Array(slice.data.length);
  slice.data.forEach((v, n) => {
    out[n] = Number.isFinite(v) ? Math.round(((v - min) / (max - min || 1)) * 255) : 0;
  });
  return out;
}

async function referencePng(id: string): Promise<{ width: number; height: number; grey: Uint8Array }> {
  const { data, info } = await sharp(readFileSync(path.join(FIXTURES_DIR, 'refs', `${id}.mid.png`)))
    .raw()
    .toBuffer({ resolveWithObject: true });
  const grey = new Uint8Array(info.width * info.height);
  for (let n = 0; n < grey.length; n++) grey[n] = data[n * info.channels]!;
  return { width: info.width, height: info.height, grey };
}

describe('middle axial slice of every readable corpus file (voxel mode)', () => {
  it('uses a little-endian platform, as the reference byte strings assume', () => {
    expect(os.endianness()).toBe('LE');
    expect(good.length).toBe(11);
    for (const entry of good) expect(entry.reference.middle_axial_slice, entry.id).toBeDefined();
  });

  it.each(good.map((f) => [f.id, f] as const))('%s matches the manifest and the reference PNG', async (_id, entry) => {
    const ref = entry.reference.middle_axial_slice!;
    const volume = readNiftiVolume(fileBytes(entry));
    const [nx, ny, nz] = volume.shape;
    expect(ref.index[2]).toBe(Math.floor(nz / 2));

    const slice = extractSlice(volume, { axis: 'axial', mode: 'voxel' });
    expect(slice).toMatchObject({ index: Math.floor(nz / 2), t: 0, width: nx, height: ny, fixedAxis: 2 });

    expect(createHash('sha256').update(referenceOrderBytes(slice)).digest('hex')).toBe(ref.sha256_stored);
    expectStats(valueStats(slice.stored), ref.stored, true, 'stored');
    expectStats(valueStats(slice.data), ref.scaled, false, 'scaled');

    const png = await referencePng(entry.id);
    expect([png.width, png.height]).toEqual([nx, ny]);
    const rendered = renderMinMax(slice);
    let worst = 0;
    rendered.forEach((v, n) => (worst = Math.max(worst, Math.abs(v - png.grey[n]!))));
    expect(worst, 'largest grey-level difference').toBeLessThanOrEqual(1);
  });
});

describe('all three axes on the corpus', () => {
  it.each(good.map((f) => [f.id, f] as const))('%s gives the right slice counts and sizes in both modes', (_id, entry) => {
    const volume = readNiftiVolume(fileBytes(entry));
    const [nx, ny, nz] = volume.shape;
    expect(sliceCounts(volume, 'voxel')).toEqual({ axial: nz, coronal: ny, sagittal: nx });
    const voxelSizes = {
      axial: [nx, ny],
      coronal: [nx, nz],
      sagittal: [ny, nz],
    } as const;
    for (const axis of ['axial', 'coronal', 'sagittal'] as const) {
      const slice = extractSlice(volume, { axis, mode: 'voxel' });
      expect([slice.width, slice.height], axis).toEqual(voxelSizes[axis]);
      expect(slice.data.length).toBe(slice.width * slice.height);
    }

    const display = sliceCounts(volume, 'display');
    // Display mode picks each plane's fixed axis from the affine: a permutation of the voxel axes.
    expect([display.axial, display.coronal, display.sagittal].sort((a, b) => a - b)).toEqual([nx, ny, nz].sort((a, b) => a - b));
    const fixed = new Set<number>();
    for (const axis of ['axial', 'coronal', 'sagittal'] as const) {
      const slice = extractSlice(volume, { axis, mode: 'display' });
      fixed.add(slice.fixedAxis);
      expect(slice.count).toBe(display[axis]);
      expect(slice.width * slice.height * slice.count).toBe(nx * ny * nz);
      // Every pixel is the voxel sliceVoxel names.
      for (const [x, y] of [[0, 0], [slice.width - 1, 0], [0, slice.height - 1], [slice.width - 1, slice.height - 1]] as const) {
        const [i, j, k] = sliceVoxel(slice, x, y);
        expect(slice.stored[(y * slice.width + x) * slice.components]).toBe(volume.stored[((k * ny + j) * nx + i) * volume.components]);
      }
    }
    expect(fixed.size).toBe(3);
  });

  it('shows the RAS phantom mirrored left-right in display mode relative to voxel mode', () => {
    const volume = readNiftiVolume(fileBytes(good.find((f) => f.id === 'niigz_big_phantom_256x256x200_int16')!));
    const voxel = extractSlice(volume, { axis: 'axial', mode: 'voxel', index: 80 });
    const display = extractSlice(volume, { axis: 'axial', mode: 'display', index: 80 });
    expect(display.edges).toEqual({ left: 'R', right: 'L', top: 'A', bottom: 'P' });
    expect(voxel.edges).toEqual({ left: 'L', right: 'R', top: 'A', bottom: 'P' });
    const { width, height } = voxel;
    const mirrored = new Float32Array(width * height);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) mirrored[y * width + x] = voxel.data[y * width + (width - 1 - x)]!;
    }
    expect(Buffer.from(display.data.buffer).equals(Buffer.from(mirrored.buffer))).toBe(true);
    // A left-right symmetric phantom would prove nothing about the flip.
    expect(Buffer.from(voxel.data.buffer).equals(Buffer.from(mirrored.buffer))).toBe(false);
  });
});

describe('4D, big-endian and streamed corpus files', () => {
  it('takes volume 0 of 4D files by default and other volumes on request', () => {
    const entry = good.find((f) => f.id === 'nii_functional_int16_4d')!;
    const bytes = fileBytes(entry);
    const all = readNiftiVolume(bytes);
    expect(all).toMatchObject({ volumeCount: 20, firstVolume: 0, heldVolumes: 20 });
    const t0 = extractSlice(all, { axis: 'axial', mode: 'voxel' });
    const t7 = extractSlice(all, { axis: 'axial', mode: 'voxel', t: 7 });
    expect(t7.t).toBe(7);
    expect(Array.from(storedAsNumbers(t7.stored))).not.toEqual(Array.from(storedAsNumbers(t0.stored)));
    const only7 = readNiftiVolume(bytes, { volume: 7 });
    expect(only7).toMatchObject({ firstVolume: 7, heldVolumes: 1 });
    expect(only7.stored.length).toBe(17 * 21 * 3);
    expect(extractSlice(only7, { axis: 'axial', mode: 'voxel', t: 7 }).data).toEqual(t7.data);
    expect(() => extractSlice(only7, { axis: 'axial', mode: 'voxel', t: 0 })).toThrow(RangeError);
    expect(() => extractSlice(all, { axis: 'axial', mode: 'voxel', t: 20 })).toThrow(RangeError);
  });

  it('reads the big-endian files without touching the caller’s bytes', () => {
    const entry = good.find((f) => f.id === 'nii_anatomical_int16_be')!;
    const bytes = readFileSync(fixturePath(entry.file));
    const before = createHash('sha256').update(bytes).digest('hex');
    const volume: NiftiVolume = readNiftiVolume(bytes);
    expect(volume.header.littleEndian).toBe(false);
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(before);
    // First voxel read straight from the file with a big-endian DataView.
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    expect(volume.stored[0]).toBe(dv.getInt16(volume.header.voxOffset, false));
    expect(volume.stored[volume.stored.length - 1]).toBe(dv.getInt16(bytes.length - 2, false));
  });

  it('reads a .nii.gz through the streaming reader within the inflate limit, and refuses it beyond', async () => {
    const entry = good.find((f) => f.id === 'niigz_example4d_int16')!;
    const inflated = gunzipSync(readFileSync(fixturePath(entry.file)));
    const result = await readNiftiBytes(createReadStream(fixturePath(entry.file), { highWaterMark: 4096 }), {
      maxInflatedBytes: inflated.length,
    });
    expect(result).toMatchObject({ gzip: true, storedBytes: entry.size, inflatedBytes: inflated.length });
    expect(Buffer.from(result.bytes).equals(inflated)).toBe(true);
    const slice = extractSlice(readNiftiVolume(result.bytes), { axis: 'axial', mode: 'voxel' });
    expect(createHash('sha256').update(referenceOrderBytes(slice)).digest('hex')).toBe(entry.reference.middle_axial_slice!.sha256_stored);

    await expect(readNiftiBytes(createReadStream(fixturePath(entry.file)), { maxInflatedBytes: inflated.length - 1 })).rejects.toMatchObject({
      code: 'inflate_limit',
    });
  });
});
