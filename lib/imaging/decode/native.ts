import type { PixelArray } from '../types';
import type { Allocate } from '../scratch';
import { CodecError } from './errors';
import { allocatePixels, type PixelModule } from './pixel-module';

export interface NativeLayout {
  /** Multi-byte samples are big endian (Explicit VR Big Endian). */
  bigEndian: boolean;
  /**
   * The value is OW in a big-endian dataset: it is a run of 16-bit words, so even 8-bit and 1-bit
   * samples come with each byte pair swapped (PS3.5 7.1.2 / 8.1.1). OB values are byte streams.
   */
  wordSwapped: boolean;
}

/** Samples stored for one frame: YBR_FULL_422 keeps two chroma samples per pixel pair (PS3.3 C.7.6.3.1.2). */
export function storedSamplesPerFrame(attrs: PixelModule): number {
  const samples = attrs.rows * attrs.columns * attrs.samplesPerPixel;
  return isSubsampled422(attrs) ? (samples / 3) * 2 : samples;
}

function isSubsampled422(attrs: PixelModule): boolean {
  return attrs.photometricInterpretation === 'YBR_FULL_422' && attrs.samplesPerPixel === 3 && attrs.bitsAllocated >= 8;
}

/** Bytes that all frames of native pixel data need (rounded up for 1-bit data), as pydicom counts them. */
export function expectedNativeLength(attrs: PixelModule): number {
  const perFrame = storedSamplesPerFrame(attrs);
  if (attrs.bitsAllocated === 1) return Math.ceil((perFrame * attrs.numberOfFrames) / 8);
  return perFrame * attrs.numberOfFrames * (attrs.bitsAllocated / 8);
}

/** Planar data (RRR…GGG…BBB…) as a new interleaved array: pydicom returns samples last. */
export function interleavePlanes<T extends PixelArray>(planar: T, pixels: number, samples: number, make: (length: number) => T): T {
  const out = make(planar.length);
  for (let s = 0; s < samples; s++) {
    const base = s * pixels;
    for (let i = 0; i < pixels; i++) out[i * samples + s] = planar[base + i]!;
  }
  return out;
}

function unpackBits(value: Uint8Array, firstBit: number, count: number, layout: NativeLayout): Uint8Array {
  const out = new Uint8Array(count);
  const swap = layout.wordSwapped ? 1 : 0;
  for (let i = 0; i < count; i++) {
    const bit = firstBit + i;
    out[i] = (value[(bit >>> 3) ^ swap]! >> (bit & 7)) & 1;
  }
  return out;
}

/** Y1 Y2 Cb Cr → Y1 Cb Cr Y2 Cb Cr, as pydicom's numpy handler upsamples uncompressed YBR_FULL_422. */
function expand422<T extends PixelArray>(stored: T, make: (length: number) => T): T {
  const out = make((stored.length / 2) * 3);
  for (let i = 0, o = 0; i + 3 < stored.length; i += 4, o += 6) {
    const cb = stored[i + 2]!;
    const cr = stored[i + 3]!;
    out[o] = stored[i]!;
    out[o + 1] = cb;
    out[o + 2] = cr;
    out[o + 3] = stored[i + 1]!;
    out[o + 4] = cb;
    out[o + 5] = cr;
  }
  return out;
}

/**
 * One frame of uncompressed pixel data (`value` is the whole Pixel Data value; every frame must be
 * present, as pydicom requires). Returns samples interleaved, not yet sign-extended.
 */
export function decodeNativeFrame(value: Uint8Array, attrs: PixelModule, frameIndex: number, layout: NativeLayout, allocate?: Allocate): PixelArray {
  const expected = expectedNativeLength(attrs);
  if (value.length < expected) {
    throw new CodecError(`pixel data holds ${value.length} bytes, but ${attrs.numberOfFrames} frame(s) of ${attrs.columns} x ${attrs.rows} need ${expected}`);
  }
  const pixels = attrs.rows * attrs.columns;
  const samples = attrs.samplesPerPixel;
  const make = (length: number) => allocatePixels(attrs, length);
  const stored = storedSamplesPerFrame(attrs);
  let frame: PixelArray;
  if (attrs.bitsAllocated === 1) {
    frame = unpackBits(value, frameIndex * stored, stored, layout);
  } else {
    const bytesPerSample = attrs.bitsAllocated / 8;
    const start = frameIndex * stored * bytesPerSample;
    const length = stored * bytesPerSample;
    const bytes = allocate ? new Uint8Array(allocate(length), 0, length) : new Uint8Array(length);
    const swapWidth = layout.bigEndian && bytesPerSample > 1 ? bytesPerSample : 0;
    if (swapWidth) {
      for (let i = 0; i < bytes.length; i += swapWidth) {
        for (let b = 0; b < swapWidth; b++) bytes[i + b] = value[start + i + swapWidth - 1 - b]!;
      }
    } else if (layout.wordSwapped) {
      for (let i = 0; i < bytes.length; i++) bytes[i] = value[(start + i) ^ 1]!;
    } else {
      bytes.set(value.subarray(start, start + bytes.length));
    }
    frame = fromLittleEndian(bytes, attrs);
  }
  if (isSubsampled422(attrs)) return expand422(frame, make);
  if (samples > 1 && attrs.planarConfiguration === 1) return interleavePlanes(frame, pixels, samples, make);
  return frame;
}

/** A typed array over little-endian bytes (which this copy owns). */
export function fromLittleEndian(bytes: Uint8Array, attrs: PixelModule): PixelArray {
  const sample = allocatePixels(attrs, 0);
  const width = sample.BYTES_PER_ELEMENT;
  if (bytes.byteLength % width !== 0) throw new CodecError(`${bytes.byteLength} bytes do not hold whole ${width}-byte samples`);
  const length = bytes.byteLength / width;
  const aligned = bytes.byteOffset % width === 0 ? bytes : bytes.slice();
  const Ctor = sample.constructor as new (buffer: ArrayBufferLike, byteOffset: number, length: number) => PixelArray;
  if (width === 1 || littleEndianHost) return new Ctor(aligned.buffer, aligned.byteOffset, length);
  const view = new DataView(aligned.buffer, aligned.byteOffset, aligned.byteLength);
  const out = allocatePixels(attrs, length);
  for (let i = 0; i < length; i++) out[i] = readLittleEndian(view, i * width, sample);
  return out;
}

const littleEndianHost = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function readLittleEndian(view: DataView, at: number, kind: PixelArray): number {
  if (kind instanceof Int16Array) return view.getInt16(at, true);
  if (kind instanceof Uint16Array) return view.getUint16(at, true);
  if (kind instanceof Int32Array) return view.getInt32(at, true);
  if (kind instanceof Uint32Array) return view.getUint32(at, true);
  if (kind instanceof Float32Array) return view.getFloat32(at, true);
  return view.getFloat64(at, true);
}
