import sharp from 'sharp';
import { Decoder as LosslessReference } from 'jpeg-lossless-decoder-js';
import { describe, expect, it } from 'vitest';
import { random } from '@/lib/dicom/__fixtures__/builder';
import { parseFixture, pixelReferences, sha256 } from './__fixtures__/support';
import { CodecError } from './errors';
import { encapsulatedFrameBytes } from './frames';
import { decodeJpeg, scanJpegHeader } from './jpeg';
import { withDecoder } from './wasm';

const frameOf = (id: string, frames = 1) => encapsulatedFrameBytes(parseFixture(id), frames, 0);

const libjpegTurbo = (jpeg: Uint8Array) => withDecoder('libjpeg-turbo', jpeg, (decoder) => Buffer.from(decoder.getDecodedBuffer()));

// --- a small lossless JPEG encoder (process 14), to reach predictors, restarts and point
// transforms that the corpus lacks. It mirrors the standard, not the decoder's code.

const LENGTHS = [0, 1, 5, 0, 0, 0, 11, 0, 0, 0, 0, 0, 0, 0, 0, 0]; // symbols 0..16: 2, 3 and 7 bits

function huffmanCodes(): Array<{ code: number; length: number }> {
  const codes: Array<{ code: number; length: number }> = [];
  let code = 0;
  LENGTHS.forEach((count, index) => {
    for (let i = 0; i < count; i++) codes.push({ code: code++, length: index + 1 });
    code <<= 1;
  });
  return codes;
}

class BitWriter {
  bytes: number[] = [];
  private acc = 0;
  private count = 0;
  write(value: number, length: number): void {
    for (let i = length - 1; i >= 0; i--) {
      this.acc = (this.acc << 1) | ((value >> i) & 1);
      if (++this.count === 8) this.flushByte();
    }
  }
  private flushByte(): void {
    this.bytes.push(this.acc);
    if (this.acc === 0xff) this.bytes.push(0);
    this.acc = 0;
    this.count = 0;
  }
  /** Pads with 1-bits to a byte boundary, as encoders do before a marker. */
  align(): void {
    while (this.count !== 0) this.write(1, 1);
  }
}

interface LosslessSpec {
  width: number;
  height: number;
  precision: number;
  predictor: number;
  pointTransform?: number;
  restartInterval?: number;
  /** One plane per component, values below 2^precision. */
  planes: Uint16Array[];
  /** One scan per component instead of one interleaved scan. */
  separateScans?: boolean;
}

function predict(plane: Uint16Array, width: number, x: number, y: number, predictor: number, initial: boolean, firstRow: boolean, defaultValue: number): number {
  if (initial) return defaultValue;
  const at = y * width + x;
  if (firstRow) return plane[at - 1]!;
  if (x === 0) return plane[at - width]!;
  const a = plane[at - 1]!;
  const b = plane[at - width]!;
  const c = plane[at - width - 1]!;
  return [0, a, b, c, a + b - c, a + ((b - c) >> 1), b + ((a - c) >> 1), (a + b) >> 1][predictor]!;
}

function encodeLossless(spec: LosslessSpec): Uint8Array {
  const { width, height, precision, predictor } = spec;
  const pt = spec.pointTransform ?? 0;
  const interval = spec.restartInterval ?? 0;
  const codes = huffmanCodes();
  const reduced = spec.planes.map((plane) => plane.map((v) => v >> pt));
  const out: number[] = [0xff, 0xd8];
  const segment = (marker: number, body: number[]) => out.push(0xff, marker, (body.length + 2) >> 8, (body.length + 2) & 0xff, ...body);
  const n = spec.planes.length;
  segment(0xc3, [precision, height >> 8, height & 0xff, width >> 8, width & 0xff, n, ...spec.planes.flatMap((_, i) => [i + 1, 0x11, 0])]);
  segment(0xc4, [0x00, ...LENGTHS, ...Array.from({ length: 17 }, (_, i) => i)]);
  if (interval) segment(0xdd, [interval >> 8, interval & 0xff]);
  const scans = spec.separateScans ? spec.planes.map((_, i) => [i]) : [spec.planes.map((_, i) => i)];
  for (const scan of scans) {
    segment(0xda, [scan.length, ...scan.flatMap((i) => [i + 1, 0x00]), predictor, 0, pt]);
    const writer = new BitWriter();
    let mcu = 0;
    let firstRowOf = 0;
    let restartMarker = 0;
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++, mcu++) {
        let restarted = false;
        if (interval && mcu > 0 && mcu % interval === 0) {
          writer.align();
          writer.bytes.push(0xff, 0xd0 + (restartMarker++ % 8));
          restarted = true;
          firstRowOf = y;
        }
        for (const i of scan) {
          const plane = reduced[i]!;
          const initial = (x === 0 && y === 0) || restarted;
          const pred = predict(plane, width, x, y, predictor, initial, y === firstRowOf && x > 0, 1 << (precision - pt - 1));
          let diff = (plane[y * width + x]! - pred) & 0xffff;
          if (diff > 32768) diff -= 65536;
          const magnitude = Math.abs(diff);
          const category = diff === 32768 ? 16 : magnitude === 0 ? 0 : 32 - Math.clz32(magnitude);
          writer.write(codes[category]!.code, codes[category]!.length);
          if (category > 0 && category < 16) writer.write(diff > 0 ? diff : diff + (1 << category) - 1, category);
        }
      }
    }
    writer.align();
    out.push(...writer.bytes);
  }
  out.push(0xff, 0xd9);
  return Uint8Array.from(out);
}

function noisePlane(width: number, height: number, precision: number, seed: number): Uint16Array {
  const next = random(seed);
  const max = (1 << precision) - 1;
  const plane = new Uint16Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      // A smooth ramp with noise, extremes included, so that predictions matter and wrap.
      const base = ((x * 37 + y * 11) / (width + height)) * max * 0.5;
      plane[y * width + x] = Math.min(max, Math.max(0, Math.round(base + (next() - 0.5) * max * 0.4)));
    }
  }
  plane[0] = max;
  plane[plane.length - 1] = 0;
  return plane;
}

function interleave(planes: Uint16Array[]): Uint16Array {
  const out = new Uint16Array(planes[0]!.length * planes.length);
  planes.forEach((plane, c) => plane.forEach((v, i) => (out[i * planes.length + c] = v)));
  return out;
}

describe('baseline and extended JPEG (DCT)', () => {
  it('gives the YCbCr that pydicom/GDCM give when told to keep it, and libjpeg-turbo RGB when converting', async () => {
    for (const id of ['sc_rgb_jpeg_baseline_422', 'sc_rgb_jpeg_baseline_ybr', 'sc_rgb_jpeg_baseline_odd_3x3']) {
      const jpeg = frameOf(id);
      const kept = decodeJpeg(jpeg, { colour: 'keep' });
      expect(kept.converted).toBe(false);
      expect(sha256(kept.data), id).toBe(pixelReferences[id]!.frame0_sha256);
      const converted = decodeJpeg(jpeg, { colour: 'convert' });
      expect(converted.converted).toBe(true);
      expect(Buffer.from(converted.data).equals(await libjpegTurbo(jpeg)), id).toBe(true);
    }
  });

  it('decodes 12-bit process 4 exactly as GDCM does', () => {
    const image = decodeJpeg(frameOf('nm_jpeg_extended_12bit'), { colour: 'auto' });
    expect(image).toMatchObject({ width: 256, height: 1024, precision: 12, components: 1, lossless: false });
    expect(image.data).toBeInstanceOf(Uint16Array);
    expect(sha256(image.data)).toBe(pixelReferences.nm_jpeg_extended_12bit!.frame0_sha256);
  });

  it.each([
    ['4:2:0', 37, 23],
    ['4:4:4', 37, 23],
    ['4:2:0', 64, 48],
    ['4:2:0', 2, 9],
    ['4:2:0', 1, 1],
  ] as const)('matches libjpeg-turbo on a %s %ix%i image from sharp (upsampling, edges, colour tables)', async (subsampling, width, height) => {
    const next = random(width * 1000 + height);
    const raw = Buffer.alloc(width * height * 3);
    for (let i = 0; i < raw.length; i++) raw[i] = Math.floor(((i % (width * 3)) / (width * 3)) * 200 + next() * 55);
    const jpeg = new Uint8Array(await sharp(raw, { raw: { width, height, channels: 3 } }).jpeg({ quality: 75, chromaSubsampling: subsampling }).toBuffer());
    const ours = decodeJpeg(jpeg, { colour: 'convert', expect: { width, height, components: 3 } });
    expect(Buffer.from(ours.data).equals(await libjpegTurbo(jpeg))).toBe(true);
  });

  it('matches libjpeg-turbo on greyscale', async () => {
    const width = 50;
    const height = 30;
    const raw = Buffer.alloc(width * height);
    for (let i = 0; i < raw.length; i++) raw[i] = (i * 13) % 251;
    const jpeg = new Uint8Array(await sharp(raw, { raw: { width, height, channels: 1 } }).toColourspace('b-w').jpeg({ quality: 90 }).toBuffer());
    expect(decodeJpeg(jpeg, { colour: 'auto' }).components).toBe(1);
    expect(Buffer.from(decodeJpeg(jpeg, { colour: 'auto' }).data).equals(await libjpegTurbo(jpeg))).toBe(true);
  });

  it('leaves progressive JPEG to libjpeg-turbo (reported as unsupported here)', async () => {
    const raw = Buffer.alloc(16 * 16 * 3, 90);
    const jpeg = new Uint8Array(await sharp(raw, { raw: { width: 16, height: 16, channels: 3 } }).jpeg({ progressive: true }).toBuffer());
    expect(scanJpegHeader(jpeg).sof).toBe(0xc2);
    expect(() => decodeJpeg(jpeg, { colour: 'auto' })).toThrow(expect.objectContaining({ unsupported: true }));
  });

  it('refuses a frame header that disagrees with the DICOM header before decoding', () => {
    expect(() => decodeJpeg(frameOf('xa_jpeg_baseline_multiframe', 4), { colour: 'auto', expect: { width: 512, height: 256, components: 1 } })).toThrow(CodecError);
  });
});

describe('lossless JPEG (process 14)', () => {
  it.each([1, 2, 3, 4, 5, 6, 7])('predictor %i round-trips 16-bit data and agrees with jpeg-lossless-decoder-js', (predictor) => {
    const plane = noisePlane(23, 17, 16, predictor);
    const jpeg = encodeLossless({ width: 23, height: 17, precision: 16, predictor, planes: [plane] });
    const image = decodeJpeg(jpeg, { colour: 'auto' });
    expect(image).toMatchObject({ lossless: true, precision: 16, width: 23, height: 17 });
    expect(Array.from(image.data)).toEqual(Array.from(plane));
    // jpeg-lossless-decoder-js computes predictor 7 as (Ra + Rb) / 2 without flooring, which
    // H.1.2.1 does not allow, and drifts by one; the other predictors make a fair cross-check.
    if (predictor !== 7) {
      const reference = new LosslessReference().decode(jpeg.slice().buffer, 0, jpeg.length) as Uint16Array;
      expect(Array.from(reference)).toEqual(Array.from(plane));
    }
  });

  it.each([
    { precision: 8, predictor: 1, restartInterval: 0, pointTransform: 0 },
    { precision: 12, predictor: 7, restartInterval: 19, pointTransform: 0 },
    { precision: 12, predictor: 4, restartInterval: 19 * 3, pointTransform: 2 },
    { precision: 16, predictor: 6, restartInterval: 19, pointTransform: 1 },
    { precision: 2, predictor: 5, restartInterval: 0, pointTransform: 0 },
  ])('handles precision $precision, predictor $predictor, restart interval $restartInterval, point transform $pointTransform', (spec) => {
    const plane = noisePlane(19, 11, spec.precision, spec.precision + spec.predictor);
    const jpeg = encodeLossless({ width: 19, height: 11, planes: [plane], ...spec });
    const expected = plane.map((v) => (v >> spec.pointTransform) << spec.pointTransform);
    expect(Array.from(decodeJpeg(jpeg, { colour: 'auto' }).data)).toEqual(Array.from(expected));
  });

  it.each([false, true])('decodes three components (separate scans: %s) interleaved and never colour-converts', (separateScans) => {
    const planes = [0, 1, 2].map((c) => noisePlane(13, 9, 8, 40 + c));
    const jpeg = encodeLossless({ width: 13, height: 9, precision: 8, predictor: 1, planes, restartInterval: 13, separateScans });
    const image = decodeJpeg(jpeg, { colour: 'convert' });
    expect(image.converted).toBe(false);
    expect(Array.from(image.data)).toEqual(Array.from(interleave(planes)));
  });
});

describe('damaged JPEG data', () => {
  const fixtures = [
    ['ct_jpeg_lossless_p14', 1],
    ['xa_jpeg_lossless_sv1_multiframe', 4],
    ['sc_rgb_jpeg_lossless_sv1', 1],
    ['xa_jpeg_baseline_multiframe', 4],
    ['sc_rgb_jpeg_baseline_422', 1],
    ['nm_jpeg_extended_12bit', 1],
  ] as const;

  it.each(fixtures)('%s: a frame cut short is an error, not a partial image', (id, frames) => {
    const jpeg = frameOf(id, frames);
    for (const fraction of [0.02, 0.25, 0.5, 0.9]) {
      const cut = jpeg.subarray(0, Math.floor(jpeg.length * fraction));
      expect(() => decodeJpeg(cut, { colour: 'auto' }), `${id} cut at ${fraction}`).toThrow(CodecError);
    }
  });

  it.each(fixtures)('%s: random byte damage decodes or throws CodecError, nothing else', (id, frames) => {
    const jpeg = frameOf(id, frames);
    const next = random(jpeg.length);
    for (let round = 0; round < 25; round++) {
      const damaged = jpeg.slice();
      for (let k = 0; k < 1 + round; k++) damaged[Math.floor(next() * damaged.length)] = Math.floor(next() * 256);
      try {
        decodeJpeg(damaged, { colour: 'auto' });
      } catch (error) {
        expect(error, `${id} round ${round}`).toBeInstanceOf(CodecError);
      }
    }
  });

  it('refuses data that is not JPEG, and a Huffman table that overflows', () => {
    expect(() => decodeJpeg(Uint8Array.from([0, 1, 2, 3]), { colour: 'auto' })).toThrow(CodecError);
    const table = [0xff, 0xc4, 0, 22, 0x00, 3, ...new Array(15).fill(0)];
    expect(() => decodeJpeg(Uint8Array.from([0xff, 0xd8, ...table, 0, 1, 2, 0xff, 0xd9]), { colour: 'auto' })).toThrow(/Huffman/);
  });
});
