import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import * as zlib from 'node:zlib';
import { encodePng, jsCrc32 } from './png';

function randomImage(width: number, height: number, channels: 1 | 3) {
  const data = new Uint8Array(width * height * channels);
  let seed = width * 31 + height * 7 + channels;
  for (let i = 0; i < data.length; i++) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    // Mix runs (which deflate compresses) with noise (which it cannot).
    data[i] = i % 97 < 40 ? 0 : seed >>> 24;
  }
  return { width, height, channels, data };
}

describe('encodePng', () => {
  it.each([
    [1, 1, 1],
    [512, 512, 1],
    [37, 19, 1],
    [64, 48, 3],
    [1, 300, 3],
  ] as const)('writes a %ix%i image with %i channel(s) that decodes to the same pixels', async (width, height, channels) => {
    const image = randomImage(width, height, channels);
    const png = encodePng(image);
    expect((await sharp(png).metadata()).channels).toBe(channels);
    // sharp widens greyscale to sRGB on output unless told otherwise.
    const input = channels === 1 ? sharp(png).toColourspace('b-w') : sharp(png);
    const { data, info } = await input.raw().toBuffer({ resolveWithObject: true });
    expect([info.width, info.height, info.channels]).toEqual([width, height, channels]);
    expect(Buffer.from(data).equals(Buffer.from(image.data))).toBe(true);
    // 8-bit greyscale or truecolour, as the header says, not widened.
    expect(png.readUInt8(24)).toBe(8);
    expect(png.readUInt8(25)).toBe(channels === 1 ? 0 : 2);
  });

  it('refuses data that does not match the dimensions', () => {
    expect(() => encodePng({ width: 4, height: 4, channels: 1, data: new Uint8Array(15) })).toThrow(/16 expected/);
  });

  it('writes chunk CRCs that a strict decoder accepts', async () => {
    // sharp (libspng) checks every CRC and fails on a wrong one: flip one byte of the IDAT CRC.
    const png = encodePng(randomImage(16, 16, 1));
    await expect(sharp(png).raw().toBuffer()).resolves.toBeDefined();
    const broken = Buffer.from(png);
    const iend = broken.length - 12;
    broken[iend - 1] = broken[iend - 1]! ^ 0xff;
    await expect(sharp(broken).raw().toBuffer()).rejects.toThrow();
  });
});

describe('PNG chunk CRC', () => {
  it('the JavaScript CRC-32 (used where zlib has none) gives the standard check value and zlib’s results', () => {
    expect(jsCrc32(Buffer.from('123456789'))).toBe(0xcbf43926);
    const bytes = new Uint8Array(70_001).map((_, i) => (i * 2654435761) >>> 24);
    const native = (zlib as { crc32?: (d: Uint8Array) => number }).crc32;
    if (native) expect(jsCrc32(bytes)).toBe(native(bytes) >>> 0);
  });
});
