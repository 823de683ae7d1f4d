import { describe, expect, it } from 'vitest';
import { concat } from '@/lib/dicom/__fixtures__/builder';
import { image, packBits, rleFrame } from './__fixtures__/datasets';
import { decodeFrame } from './index';
import { decodePackBits } from './rle';

const RLE = '1.2.840.10008.1.2.5';

describe('PackBits segments', () => {
  it('expands literal runs, replicate runs and skips 128', () => {
    const out = new Uint8Array(9);
    const segment = Uint8Array.from([2, 7, 8, 9, 0x80, 253, 5, 0, 1]);
    expect(decodePackBits(segment, out)).toBe(8);
    expect(Array.from(out)).toEqual([7, 8, 9, 5, 5, 5, 5, 1, 0]);
  });

  it('stops at the output size and keeps a literal run cut short by the segment end', () => {
    const out = new Uint8Array(3);
    expect(decodePackBits(Uint8Array.from([129, 4]), out)).toBe(3); // 128 repeats, 3 kept
    expect(decodePackBits(Uint8Array.from([5, 1, 2]), new Uint8Array(8))).toBe(2);
    expect(decodePackBits(Uint8Array.from([200]), new Uint8Array(8))).toBe(0);
  });

  it('round-trips the test encoder', () => {
    const data = Uint8Array.from({ length: 1000 }, (_, i) => (i % 300 < 150 ? 42 : (i * 7) & 255));
    const out = new Uint8Array(data.length);
    expect(decodePackBits(packBits(data), out)).toBe(data.length);
    expect(out).toEqual(data);
  });
});

describe('RLE frames', () => {
  it('puts the most significant byte segment first, sample by sample, into interleaved pixels', async () => {
    // 2 x 1 RGB, 16 bits: pixel values R=0x0102/0x0304, G=0x0506/0x0708, B=0x090a/0x0b0c.
    const segments = [
      [0x01, 0x03],
      [0x02, 0x04],
      [0x05, 0x07],
      [0x06, 0x08],
      [0x09, 0x0b],
      [0x0a, 0x0c],
    ].map((bytes) => Uint8Array.from(bytes));
    const dataset = image({ transferSyntax: RLE, rows: 1, columns: 2, samplesPerPixel: 3, planarConfiguration: 1, fragments: [rleFrame(segments)] });
    const frame = await decodeFrame(dataset, 0);
    expect(frame.data).toBeInstanceOf(Uint16Array);
    expect(Array.from(frame.data)).toEqual([0x0102, 0x0506, 0x090a, 0x0304, 0x0708, 0x0b0c]);
  });

  it('reads signed 32-bit samples and sign-extends narrower signed ones', async () => {
    const value = -123456;
    const bytes = [(value >>> 24) & 255, (value >>> 16) & 255, (value >>> 8) & 255, value & 255].map((b) => Uint8Array.from([b]));
    const frame = await decodeFrame(image({ transferSyntax: RLE, rows: 1, columns: 1, bitsAllocated: 32, pixelRepresentation: 1, fragments: [rleFrame(bytes)] }), 0);
    expect(Array.from(frame.data)).toEqual([value]);
    const narrow = await decodeFrame(
      image({ transferSyntax: RLE, rows: 1, columns: 2, bitsStored: 12, pixelRepresentation: 1, fragments: [rleFrame([Uint8Array.from([0x0f, 0x08]), Uint8Array.from([0xff, 0x00])])] }),
      0,
    );
    expect(Array.from(narrow.data)).toEqual([-1, -2048]);
  });

  it('finds each frame of a multi-frame object through the Basic Offset Table', async () => {
    const frames = [0, 1, 2].map((k) => rleFrame([Uint8Array.from({ length: 6 }, (_, i) => k * 10 + i)]));
    const offsets = frames.reduce<number[]>((list, frame, i) => [...list, i === 0 ? 0 : list[i - 1]! + frames[i - 1]!.length + 8], []);
    const dataset = image({ transferSyntax: RLE, rows: 2, columns: 3, bitsAllocated: 8, frames: '3', fragments: frames, offsetTable: offsets });
    for (let k = 0; k < 3; k++) expect(Array.from((await decodeFrame(dataset, k)).data)).toEqual([0, 1, 2, 3, 4, 5].map((i) => k * 10 + i));
  });

  it.each([
    ['a segment count that does not match the samples', rleFrame([new Uint8Array(4), new Uint8Array(4)])],
    ['a segment that decodes short', rleFrame([new Uint8Array(3)])],
    ['a header shorter than 64 bytes', new Uint8Array(40)],
    ['offsets out of order', (() => {
      const frame = rleFrame([new Uint8Array(4)]);
      new DataView(frame.buffer).setUint32(4, 9999, true);
      return frame;
    })()],
    ['no segments at all', concat(new Uint8Array(64))],
  ])('refuses %s', async (_label, fragment) => {
    const dataset = image({ transferSyntax: RLE, rows: 2, columns: 2, bitsAllocated: 8, fragments: [fragment] });
    await expect(decodeFrame(dataset, 0)).rejects.toMatchObject({ name: 'PixelDecodeError', code: 'corrupt_pixel_data' });
  });
});
