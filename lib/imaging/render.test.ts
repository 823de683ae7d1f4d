import { readFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { dicomCorpus } from '@/lib/testing/corpus';
import { renderDicom } from './dicom-image';
import { encodeImage } from './encode';
import { renderFrame, renderValues } from './render';
import type { DecodedFrame } from './types';

const fixtures = path.join(import.meta.dirname, '__fixtures__');
const renders = JSON.parse(readFileSync(path.join(fixtures, 'renders.json'), 'utf8')) as {
  files: { id: string; renders: { variant: 'minmax' | 'window'; png: string; png_mode: string }[] }[];
};
const corpus = new Map(dicomCorpus().map((e) => [e.id, e]));

async function decodePng(file: string, mode: string) {
  const input = sharp(readFileSync(file));
  const { data, info } = await (mode === 'L' ? input.toColourspace('b-w') : input.removeAlpha()).raw().toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data), width: info.width, height: info.height, channels: info.channels };
}

function differences(a: Uint8Array, b: Uint8Array) {
  let sum = 0;
  let over = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    sum += d;
    if (d > 3) over++;
  }
  return { mean: sum / a.length, overFraction: over / a.length };
}

describe('rendering matches the dcmtk reference renderings', () => {
  for (const file of renders.files) {
    const entry = corpus.get(file.id);
    if (!entry) continue;
    const lossless = entry.reference.lossless === true;
    if (entry.expect_error) {
      // dcmtk shows what it can of a damaged file; this platform refuses it (and never ingests it).
      it(`${file.id}: refused rather than guessed at`, async () => {
        await expect(renderDicom(readFileSync(entry.path), { frame: 0 })).rejects.toMatchObject({ name: 'PixelDecodeError' });
      });
      continue;
    }
    for (const render of file.renders) {
      it(`${file.id} (${render.variant})`, async () => {
        const ref = await decodePng(path.join(fixtures, 'refs', render.png), render.png_mode);
        const { image } = await renderDicom(readFileSync(entry.path), { frame: 0, voi: render.variant === 'minmax' ? 'minmax' : 'file' });
        expect([image.width, image.height, image.channels]).toEqual([ref.width, ref.height, ref.channels]);
        const diff = differences(image.data, ref.data);
        // Lossless images must match to rounding; lossy ones may differ by decoder (IJG vs ours).
        expect(diff.mean).toBeLessThan(lossless ? 0.6 : 2.5);
        expect(diff.overFraction).toBeLessThan(lossless ? 0.002 : 0.05);
      });
    }
  }
});

describe('renderFrame', () => {
  const frame = (data: number[], photometricInterpretation = 'MONOCHROME2'): DecodedFrame => ({
    rows: 1,
    columns: data.length,
    samplesPerPixel: 1,
    photometricInterpretation,
    bitsAllocated: 16,
    bitsStored: 16,
    pixelRepresentation: 1,
    data: Int16Array.from(data),
  });

  it('applies rescale, then the VOI window, per the DICOM linear function', () => {
    // Stored 0..3000 with intercept -1024: HU -1024..1976; brain window 40/80 maps 0..80 HU.
    const image = renderFrame(frame([0, 1024, 1064, 1104, 3000]), { rescaleSlope: 1, rescaleIntercept: -1024, window: { center: 40, width: 80 } });
    expect(Array.from(image.data)).toEqual([0, 0, 129, 255, 255]);
  });

  it('shows MONOCHROME1 inverted, and invert flips either', () => {
    const mono1 = renderFrame(frame([0, 100], 'MONOCHROME1'), { window: { center: 50, width: 50 } });
    expect(Array.from(mono1.data)).toEqual([255, 0]);
    const flipped = renderFrame(frame([0, 100], 'MONOCHROME1'), { window: { center: 50, width: 50 }, invert: true });
    expect(Array.from(flipped.data)).toEqual([0, 255]);
  });

  it('uses min-max when no window is given', () => {
    // Window 5/20: the middle value lands at ((5 - 4.5) / 19 + 0.5) × 255 = 134 by the DICOM formula.
    expect(Array.from(renderFrame(frame([-5, 5, 15])).data)).toEqual([0, 134, 255]);
  });

  it('maps palette indices through the LUTs', () => {
    const image = renderFrame(
      { ...frame([0, 1, 5], 'PALETTE COLOR'), data: Uint8Array.from([0, 1, 5]), bitsAllocated: 8, bitsStored: 8, pixelRepresentation: 0 },
      { palette: { firstMapped: 0, bits: 16, red: Uint16Array.from([0, 65535]), green: Uint16Array.from([65535, 0]), blue: Uint16Array.from([256, 512]) } },
    );
    expect(Array.from(image.data)).toEqual([0, 255, 1, 255, 0, 2, 255, 0, 2]);
  });

  it('renders real-valued slices and encodes PNG, JPEG and WebP at a requested size', async () => {
    const values = Float32Array.from({ length: 64 * 32 }, (_, i) => i % 64);
    const image = renderValues(values, 64, 32, null);
    for (const format of ['png', 'jpeg', 'webp'] as const) {
      const encoded = await encodeImage(image, { format, size: 128 });
      const meta = await sharp(encoded.body).metadata();
      expect([meta.format, meta.width, meta.height]).toEqual([format, 128, 64]);
    }
  });
});

describe('windowing through lookup tables', () => {
  // PS3.3 C.11.2.1.2.1, pixel by pixel: what the tables must reproduce exactly.
  function reference(values: ArrayLike<number>, slope: number, intercept: number, c: number, w: number, invert: boolean) {
    return Array.from(values, (stored) => {
      const x = stored * slope + intercept;
      let y: number;
      if (w <= 1) y = x <= c - 0.5 ? 0 : 255;
      else if (x <= c - 0.5 - (w - 1) / 2) y = 0;
      else if (x > c - 0.5 + (w - 1) / 2) y = 255;
      else y = ((x - (c - 0.5)) / (w - 1) + 0.5) * 255;
      const byte = Math.round(y);
      return invert ? 255 - byte : byte;
    });
  }

  const cases = [
    ['Int16Array', Int16Array.from([-32768, -2000, -1024, -1, 0, 1, 39, 40, 41, 240, 1000, 32767]), 1, -1024],
    ['Uint16Array', Uint16Array.from([0, 1, 1023, 1024, 1064, 4095, 65535]), 1, -1024],
    ['Uint8Array', Uint8Array.from([0, 1, 100, 127, 128, 200, 255]), 2.5, -10],
    ['Int8Array', Int8Array.from([-128, -1, 0, 1, 60, 127]), 0.5, 3],
  ] as const;
  it.each(cases)('%s gives the bytes of the per-pixel function, with and without inversion', (_, data, slope, intercept) => {
    for (const window of [{ center: 40, width: 400 }, { center: 0.5, width: 1 }, { center: -3.25, width: 77.5 }]) {
      for (const [photometric, invert] of [['MONOCHROME2', false], ['MONOCHROME2', true], ['MONOCHROME1', false]] as const) {
        const frame: DecodedFrame = { rows: 1, columns: data.length, samplesPerPixel: 1, photometricInterpretation: photometric, bitsAllocated: 16, bitsStored: 16, pixelRepresentation: 1, data };
        const image = renderFrame(frame, { rescaleSlope: slope, rescaleIntercept: intercept, window, invert });
        const flip = (photometric === 'MONOCHROME1') !== invert;
        expect(Array.from(image.data), `${window.center}/${window.width} ${photometric} invert=${invert}`).toEqual(reference(data, slope, intercept, window.center, window.width, flip));
      }
    }
  });
});
