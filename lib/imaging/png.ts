import * as zlib from 'node:zlib';
import type { RenderedImage } from './render';

/**
 * A PNG of an 8-bit greyscale or RGB image, written directly: signature, IHDR, one IDAT, IEND.
 * Rows are stored unfiltered and deflated at level 3. Measured on 512×512 CT renderings this
 * is 2–4 times cheaper in CPU than sharp's PNG output at any setting (libvips has a fixed cost
 * of about a millisecond per image, and its adaptive filtering triples the deflate time for a
 * few percent of size), and it runs synchronously, so an image worker never waits on libuv's
 * thread pool. Lossless: the file decodes to exactly `image.data`.
 */
export function encodePng(image: RenderedImage, level = 3): Buffer {
  const { width, height, channels } = image;
  const rowBytes = width * channels;
  if (image.data.length !== rowBytes * height) throw new Error(`image data holds ${image.data.length} bytes, ${rowBytes * height} expected`);
  const raw = filteredRows((rowBytes + 1) * height);
  for (let y = 0, i = 0, o = 0; y < height; y++, i += rowBytes, o += rowBytes + 1) {
    raw[o] = 0; // filter type None
    raw.set(image.data.subarray(i, i + rowBytes), o + 1);
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = channels === 1 ? 0 : 2; // colour type: greyscale or truecolour
  // compression, filter method and interlace stay 0
  return Buffer.concat([PNG_SIGNATURE, chunk('IHDR', ihdr), chunk('IDAT', zlib.deflateSync(raw, { level })), chunk('IEND', Buffer.alloc(0))]);
}

// The filtered rows only live until deflateSync returns (synchronously), so one buffer per
// thread serves every image: a fresh quarter megabyte per image cost more in page faults than
// the copy into it. Every byte of it is written before it is read.
let rowsBuffer: Buffer | null = null;
const MAX_KEPT_ROWS_BYTES = 16 * 1024 * 1024;

function filteredRows(length: number): Buffer {
  if (rowsBuffer && rowsBuffer.length >= length) return rowsBuffer.subarray(0, length);
  const fresh = Buffer.allocUnsafe(length);
  if (length <= MAX_KEPT_ROWS_BYTES) rowsBuffer = fresh;
  return fresh;
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function chunk(type: string, data: Buffer): Buffer {
  const out = Buffer.allocUnsafe(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'latin1');
  data.copy(out, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

const CRC_TABLE = (() => {
  const table = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c;
  }
  return table;
})();

/** CRC-32 as PNG (and zlib) define it: zlib's (Node 20.15+, several times faster), else this one. */
const nativeCrc32 = (zlib as { crc32?: (data: Uint8Array) => number }).crc32;
const crc32 = nativeCrc32 ? (bytes: Uint8Array) => nativeCrc32(bytes) >>> 0 : jsCrc32;

export function jsCrc32(bytes: Uint8Array): number {
  let c = -1;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}
