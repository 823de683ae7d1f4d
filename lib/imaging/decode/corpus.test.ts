import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseDicom, type DicomDataset } from '@/lib/dicom';
import { dicomCorpus } from '@/lib/testing/corpus';
import type { PixelArray } from '../types';
import { arrayTypeOf, pixelReferences, sha256, stats, type PixelReference, type Stats } from './__fixtures__/support';
import { decodeFrame, PixelDecodeError } from './index';

const corpus = dicomCorpus();

function parsed(path: string): DicomDataset | null {
  try {
    return parseDicom(new Uint8Array(readFileSync(path)), { stopAtPixelData: false });
  } catch {
    return null; // lib/dicom's corpus test states what each unparseable file must raise
  }
}

/**
 * Lossy frames are compared by their statistics: any conforming decoder may differ by an IDCT
 * rounding. (Ours happen to match pydicom exactly, which the hash test would tell, but that is
 * not a promise.)
 */
function expectClose(actual: Stats, expected: Stats, label: string): void {
  const range = Math.max(1, expected.max - expected.min);
  expect(Math.abs(actual.min - expected.min), `${label} min`).toBeLessThanOrEqual(range * 0.02);
  expect(Math.abs(actual.max - expected.max), `${label} max`).toBeLessThanOrEqual(range * 0.02);
  expect(Math.abs(actual.mean - expected.mean), `${label} mean`).toBeLessThanOrEqual(range * 0.005 + 0.01);
}

/** pydicom 2.3 leaves baseline YBR JPEG as YBR; the DecodedFrame contract converts it to RGB. */
const convertsToRgb = (ref: PixelReference) => ref.frame0_rgb !== undefined && /YBR/.test(ref.colour_note ?? '');

const withPixels = corpus.filter((entry) => pixelReferences[entry.id]?.frame0_sha256 !== undefined);
const pydicomFailed = corpus.filter((entry) => pixelReferences[entry.id]?.pydicom_pixel_array === 'error');

describe('decodeFrame on the corpus', () => {
  it('has pixel references for the fixtures', () => {
    expect(withPixels.length).toBeGreaterThan(40);
    for (const entry of corpus) {
      const hasPixels = entry.reference.has_pixel_data === true;
      expect(entry.id in pixelReferences, entry.id).toBe(hasPixels);
    }
  });

  it.each(withPixels.map((entry) => [entry.id, entry] as const))('%s: frame 0 as pydicom gives it', async (id, entry) => {
    const ref = pixelReferences[id]!;
    const dataset = parsed(entry.path);
    expect(dataset, 'parses').not.toBeNull();
    const frame = await decodeFrame(dataset!, 0);
    const shape = ref.array_shape!;
    const frameShape = shape.length === (frame.samplesPerPixel > 1 ? 4 : 3) ? shape.slice(1) : shape;
    expect([frame.rows, frame.columns, ...(frame.samplesPerPixel > 1 ? [frame.samplesPerPixel] : [])]).toEqual(frameShape);
    expect(frame.data.constructor.name).toBe(arrayTypeOf(ref.dtype!));
    expect(frame.data.length).toBe(frame.rows * frame.columns * frame.samplesPerPixel);
    if (ref.lossless) {
      expect(sha256(frame.data)).toBe(ref.frame0_sha256);
    } else if (convertsToRgb(ref)) {
      expect(frame.photometricInterpretation).toBe('RGB');
      expectClose(stats([frame.data]), ref.frame0_rgb!, id);
    } else {
      expectClose(stats([frame.data]), ref.frame0_stored!, id);
    }
  });

  const multiFrame = withPixels.filter((entry) => entry.categories.includes('multi-frame'));

  it('covers the multi-frame fixtures', () => {
    expect(multiFrame.map((entry) => entry.id).sort()).toEqual(
      ['mr_enhanced_philips_4frames', 'rtdose_multiframe_32bit', 'rtdose_rle_multiframe_32bit', 'us_palette_rle_multiframe', 'xa_jpeg_baseline_multiframe', 'xa_jpeg_lossless_sv1_multiframe'].sort(),
    );
  });

  it.each(multiFrame.map((entry) => [entry.id, entry] as const))('%s: every frame', async (id, entry) => {
    const ref = pixelReferences[id]!;
    const dataset = parsed(entry.path)!;
    const count = ref.array_shape![0]!;
    const frames: PixelArray[] = [];
    for (let i = 0; i < count; i++) frames.push((await decodeFrame(dataset, i)).data);
    for (const frame of frames) expect(frame.length).toBe(frames[0]!.length);
    const all = stats(frames);
    const expected = ref.all_frames_after_rescale;
    if (!expected) {
      // Palette colour has no all-frame reference; an echo loop must at least not repeat frame 0.
      expect(new Set(frames.map(sha256)).size).toBe(count);
    } else if (ref.lossless) {
      expect([all.min, all.max]).toEqual([expected.min, expected.max]);
      expect(all.mean).toBeCloseTo(expected.mean, 3);
    } else {
      expectClose(all, expected, id);
    }
    await expect(decodeFrame(dataset, count)).rejects.toMatchObject({ code: 'frame_out_of_range' });
  });

  it('lossless JPEG, JPEG-LS, JPEG 2000 and RLE frames equal the uncompressed original of the same image', async () => {
    const groups = [
      ['mr_small_explicit_le', 'mr_small_big_endian', 'mr_small_jpegls_lossless', 'mr_small_j2k_lossless', 'mr_small_rle'],
      ['ct_ankle_implicit', 'ct_ankle_jpeg_lossless_sv1'],
      ['ct_small_explicit_le', 'ct_jpeg_lossless_p14'],
      ['sc_rgb_rle', 'sc_rgb_jpeg_lossless_sv1'],
    ];
    for (const ids of groups) {
      const hashes = await Promise.all(ids.map(async (id) => sha256((await decodeFrame(parsed(corpus.find((e) => e.id === id)!.path)!, 0)).data)));
      expect(new Set(hashes).size, ids.join(', ')).toBe(1);
    }
  });

  it.each(pydicomFailed.map((entry) => [entry.id, entry] as const))('%s: refused where pydicom fails too', async (_id, entry) => {
    const dataset = parsed(entry.path);
    if (!dataset) return; // the parser already refuses it (truncated, no transfer syntax)
    await expect(decodeFrame(dataset, 0)).rejects.toBeInstanceOf(PixelDecodeError);
  });

  it('refuses the damaged JPEG 2000 codestream instead of returning garbage', async () => {
    const dataset = parsed(corpus.find((e) => e.id === 'broken_j2k_corrupt_codestream')!.path)!;
    await expect(decodeFrame(dataset, 0)).rejects.toMatchObject({ name: 'PixelDecodeError', code: 'corrupt_pixel_data' });
  });

  it('says no_pixel_data for SR, RT plan, waveform and DICOMDIR files', async () => {
    const without = corpus.filter((entry) => entry.reference.has_pixel_data === false);
    expect(without.length).toBeGreaterThan(4);
    for (const entry of without) {
      const dataset = parsed(entry.path);
      if (!dataset) continue;
      await expect(decodeFrame(dataset, 0), entry.id).rejects.toMatchObject({ code: 'no_pixel_data' });
    }
  });
});
