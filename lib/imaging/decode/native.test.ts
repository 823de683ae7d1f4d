import { readFileSync } from 'node:fs';
import path from 'node:path';
import { deflateRawSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { EXPLICIT_BE, IMPLICIT_LE } from '@/lib/dicom/__fixtures__/builder';
import { parseDicom } from '@/lib/dicom';
import { buildImage, image, sampleBytes } from './__fixtures__/datasets';
import { decodeFrame } from './index';

const BIG_ENDIAN = '1.2.840.10008.1.2.2';

describe('uncompressed pixel data', () => {
  it('reads little endian in all three VR encodings', async () => {
    const values = [0, 1, -1, 32767, -32768, 1234];
    for (const [transferSyntax, encoding] of [
      ['1.2.840.10008.1.2.1', undefined],
      ['1.2.840.10008.1.2', IMPLICIT_LE],
    ] as const) {
      const frame = await decodeFrame(image({ transferSyntax, encoding, rows: 2, columns: 3, pixelRepresentation: 1, pixels: sampleBytes(values, 2) }), 0);
      expect(frame.data).toBeInstanceOf(Int16Array);
      expect(Array.from(frame.data)).toEqual(values);
    }
  });

  it('swaps 16- and 32-bit samples of explicit VR big endian', async () => {
    const words = [0x0102, 0xfffe, 4095];
    const frame16 = await decodeFrame(image({ transferSyntax: BIG_ENDIAN, encoding: EXPLICIT_BE, rows: 1, columns: 3, pixels: sampleBytes(words, 2, false) }), 0);
    expect(Array.from(frame16.data)).toEqual(words);
    const longs = [1, -2, 2 ** 31 - 1];
    const frame32 = await decodeFrame(image({ transferSyntax: BIG_ENDIAN, encoding: EXPLICIT_BE, rows: 1, columns: 3, bitsAllocated: 32, pixelRepresentation: 1, pixels: sampleBytes(longs, 4, false) }), 0);
    expect(frame32.data).toBeInstanceOf(Int32Array);
    expect(Array.from(frame32.data)).toEqual(longs);
  });

  it('does not swap 8-bit OB big endian data, but undoes the word swap of 8-bit OW', async () => {
    const bytes = Uint8Array.from([1, 2, 3, 4, 5, 6]);
    const ob = await decodeFrame(image({ transferSyntax: BIG_ENDIAN, encoding: EXPLICIT_BE, rows: 2, columns: 3, bitsAllocated: 8, vr: 'OB', pixels: bytes }), 0);
    expect(Array.from(ob.data)).toEqual([1, 2, 3, 4, 5, 6]);
    const ow = await decodeFrame(image({ transferSyntax: BIG_ENDIAN, encoding: EXPLICIT_BE, rows: 2, columns: 3, bitsAllocated: 8, vr: 'OW', pixels: Uint8Array.from([2, 1, 4, 3, 6, 5]) }), 0);
    expect(Array.from(ow.data)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('sign-extends from Bits Stored (12 bits in 16), dropping bits above it', async () => {
    const stored = [0x0fff, 0x0800, 0x07ff, 0x0000, 0xf7ff, 0xffff];
    const frame = await decodeFrame(image({ rows: 1, columns: 6, bitsStored: 12, pixelRepresentation: 1, pixels: sampleBytes(stored, 2) }), 0);
    expect(Array.from(frame.data)).toEqual([-1, -2048, 2047, 0, 2047, -1]);
    const bytes = await decodeFrame(image({ rows: 1, columns: 3, bitsAllocated: 8, bitsStored: 4, pixelRepresentation: 1, pixels: Uint8Array.from([0x0f, 0x08, 0x07]) }), 0);
    expect(bytes.data).toBeInstanceOf(Int8Array);
    expect(Array.from(bytes.data)).toEqual([-1, -8, 7]);
  });

  it('keeps unsigned values as stored, as pydicom does (no masking above Bits Stored)', async () => {
    const frame = await decodeFrame(image({ rows: 1, columns: 2, bitsStored: 12, pixels: sampleBytes([0x0fff, 0xf001], 2) }), 0);
    expect(Array.from(frame.data)).toEqual([0x0fff, 0xf001]);
  });

  it('unpacks 1-bit data LSB first, with frames that do not start on a byte boundary', async () => {
    // Three 3 x 3 frames = 27 bits; frame k has only pixel k set.
    const bits = [1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0];
    const packed = new Uint8Array(4);
    bits.forEach((bit, i) => (packed[i >> 3]! |= bit << (i & 7)));
    const dataset = image({ rows: 3, columns: 3, frames: '3', bitsAllocated: 1, bitsStored: 1, pixels: packed, vr: 'OB' });
    for (let k = 0; k < 3; k++) {
      const frame = await decodeFrame(dataset, k);
      expect(frame.data).toBeInstanceOf(Uint8Array);
      expect(Array.from(frame.data)).toEqual(Array.from({ length: 9 }, (_, i) => (i === k ? 1 : 0)));
    }
    await expect(decodeFrame(dataset, 3)).rejects.toMatchObject({ code: 'frame_out_of_range' });
  });

  it('interleaves planar configuration 1 and leaves 0 alone', async () => {
    const planar = [10, 11, 12, 13, 20, 21, 22, 23, 30, 31, 32, 33];
    const frame = await decodeFrame(image({ rows: 2, columns: 2, samplesPerPixel: 3, planarConfiguration: 1, bitsAllocated: 8, pixels: Uint8Array.from(planar) }), 0);
    expect(Array.from(frame.data)).toEqual([10, 20, 30, 11, 21, 31, 12, 22, 32, 13, 23, 33]);
    const wide = await decodeFrame(image({ rows: 1, columns: 2, samplesPerPixel: 3, planarConfiguration: 1, pixels: sampleBytes([1000, 1001, 2000, 2001, 3000, 3001], 2) }), 0);
    expect(Array.from(wide.data)).toEqual([1000, 2000, 3000, 1001, 2001, 3001]);
    const interleaved = await decodeFrame(image({ rows: 1, columns: 2, samplesPerPixel: 3, planarConfiguration: 0, bitsAllocated: 8, pixels: Uint8Array.from([1, 2, 3, 4, 5, 6]) }), 0);
    expect(Array.from(interleaved.data)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('upsamples uncompressed YBR_FULL_422 (Y1 Y2 Cb Cr) to full YBR as pydicom does', async () => {
    const stored = [16, 17, 100, 200, 30, 31, 101, 201];
    const frame = await decodeFrame(image({ rows: 1, columns: 4, samplesPerPixel: 3, photometric: 'YBR_FULL_422', bitsAllocated: 8, pixels: Uint8Array.from(stored) }), 0);
    expect(frame.photometricInterpretation).toBe('YBR_FULL');
    expect(Array.from(frame.data)).toEqual([16, 100, 200, 17, 100, 200, 30, 101, 201, 31, 101, 201]);
  });

  it('reads Float and Double Float Pixel Data, in either byte order', async () => {
    const values = [0.5, -1.25, 3e10];
    const float = await decodeFrame(image({ rows: 1, columns: 3, bitsAllocated: 32, pixelTag: 0x7fe00008, vr: 'OF', pixels: sampleBytes(values, 4, true, true) }), 0);
    expect(float.data).toBeInstanceOf(Float32Array);
    expect(Array.from(float.data)).toEqual(Array.from(new Float32Array(values)));
    const double = await decodeFrame(
      image({ transferSyntax: BIG_ENDIAN, encoding: EXPLICIT_BE, rows: 1, columns: 3, bitsAllocated: 64, pixelTag: 0x7fe00009, vr: 'OD', pixels: sampleBytes(values, 8, false, true) }),
      0,
    );
    expect(double.data).toBeInstanceOf(Float64Array);
    expect(Array.from(double.data)).toEqual(values);
  });

  it('takes frame k at k x frame size, and tolerates padding after the last frame', async () => {
    const values = Array.from({ length: 2 * 3 * 4 }, (_, i) => i * 100);
    const dataset = image({ rows: 2, columns: 3, frames: '4', pixels: new Uint8Array([...sampleBytes(values, 2), 0, 0]) });
    for (let k = 0; k < 4; k++) expect(Array.from((await decodeFrame(dataset, k)).data)).toEqual(values.slice(k * 6, k * 6 + 6));
  });

  it('reads encapsulated uncompressed and deflated image frames', async () => {
    const frames = [sampleBytes([1, 2, 3, 4], 2), sampleBytes([5, 6, 7, 8], 2)];
    const encapsulated = image({ transferSyntax: '1.2.840.10008.1.2.1.98', rows: 2, columns: 2, frames: '2', fragments: frames });
    expect(Array.from((await decodeFrame(encapsulated, 1)).data)).toEqual([5, 6, 7, 8]);
    const deflated = image({ transferSyntax: '1.2.840.10008.1.2.8.1', rows: 2, columns: 2, frames: '2', fragments: frames.map((f) => new Uint8Array(deflateRawSync(f))) });
    expect(Array.from((await decodeFrame(deflated, 0)).data)).toEqual([1, 2, 3, 4]);
    const bomb = image({ transferSyntax: '1.2.840.10008.1.2.8.1', rows: 2, columns: 2, fragments: [new Uint8Array(deflateRawSync(new Uint8Array(1 << 20)))] });
    await expect(decodeFrame(bomb, 0)).rejects.toMatchObject({ code: 'corrupt_pixel_data' });
  });
});

describe('refusals', () => {
  it('pixel data shorter than Number of Frames x frame size', async () => {
    await expect(decodeFrame(image({ rows: 4, columns: 4, frames: '2', pixels: new Uint8Array(40) }), 0)).rejects.toMatchObject({ code: 'corrupt_pixel_data' });
  });

  it('missing or impossible attributes', async () => {
    await expect(decodeFrame(image({ rows: 2, columns: 2, pixels: new Uint8Array(8), omit: [0x00280010] }), 0)).rejects.toMatchObject({ code: 'invalid_pixel_attributes' });
    await expect(decodeFrame(image({ rows: 2, columns: 2, pixels: new Uint8Array(8), frames: '1A' }), 0)).rejects.toMatchObject({ code: 'invalid_pixel_attributes' });
    await expect(decodeFrame(image({ rows: 2, columns: 2, bitsAllocated: 16, bitsStored: 17, pixels: new Uint8Array(8) }), 0)).rejects.toMatchObject({ code: 'invalid_pixel_attributes' });
    await expect(decodeFrame(image({ rows: 2, columns: 2, bitsAllocated: 12, pixels: new Uint8Array(8) }), 0)).rejects.toMatchObject({ code: 'unsupported_pixel_format' });
    await expect(decodeFrame(image({ rows: 0, columns: 2, pixels: new Uint8Array(8) }), 0)).rejects.toMatchObject({ code: 'invalid_pixel_attributes' });
  });

  it('frame indexes that are not whole numbers inside the range', async () => {
    const dataset = image({ rows: 2, columns: 2, frames: '2', pixels: new Uint8Array(16) });
    for (const index of [-1, 2, 0.5, Number.NaN]) await expect(decodeFrame(dataset, index)).rejects.toMatchObject({ code: 'frame_out_of_range' });
  });

  it('frames larger than the limit, before reading them', async () => {
    const dataset = image({ rows: 100, columns: 100, pixels: new Uint8Array(20000) });
    await expect(decodeFrame(dataset, 0, { maxFrameBytes: 19999 })).rejects.toMatchObject({ code: 'frame_too_large' });
    await expect(decodeFrame(dataset, 0, { maxFrameBytes: 20000 })).resolves.toMatchObject({ rows: 100 });
  });

  it('datasets parsed from a prefix that ends before the pixel data does', async () => {
    const bytes = buildImage({ rows: 2, columns: 2, pixels: sampleBytes([1, 2, 3, 4], 2) });
    // Stopping at the pixel data is fine when the bytes handed in hold it all.
    expect(Array.from((await decodeFrame(parseDicom(bytes), 0)).data)).toEqual([1, 2, 3, 4]);
    await expect(decodeFrame(parseDicom(bytes.subarray(0, bytes.length - 2), { fileSize: bytes.length }), 0)).rejects.toMatchObject({ code: 'pixel_data_not_loaded' });
    // The ingest path parses a prefix of large files, as for this Siemens mosaic header.
    const head = new Uint8Array(readFileSync(path.resolve(import.meta.dirname, '../../dicom/__fixtures__/mr_siemens_mosaic_implicit.head.dcm')));
    await expect(decodeFrame(parseDicom(head, { fileSize: 1700896 }), 0)).rejects.toMatchObject({ code: 'pixel_data_not_loaded' });
  });

  it('transfer syntaxes without a decoder', async () => {
    const dataset = image({ transferSyntax: '1.2.840.10008.1.2.4.102', rows: 2, columns: 2, fragments: [new Uint8Array(8)] });
    await expect(decodeFrame(dataset, 0)).rejects.toMatchObject({ code: 'unsupported_transfer_syntax' });
  });
});
