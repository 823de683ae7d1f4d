import type { PixelArray } from '../types';
import { CodecError } from './errors';
import { fromLittleEndian } from './native';
import type { PixelModule } from './pixel-module';

/**
 * Decodes one PackBits segment into `out` (PS3.5 G.3.1). Output beyond `out` is dropped and a
 * literal run cut short by the end of the segment keeps what is there, as pydicom does; the caller
 * judges the decoded length.
 */
export function decodePackBits(segment: Uint8Array, out: Uint8Array): number {
  let i = 0;
  let o = 0;
  const capacity = out.length;
  while (i < segment.length && o < capacity) {
    const header = segment[i++]!;
    if (header < 128) {
      const count = Math.min(header + 1, segment.length - i, capacity - o);
      out.set(segment.subarray(i, i + count), o);
      i += header + 1;
      o += count;
    } else if (header > 128) {
      if (i >= segment.length) break;
      const count = Math.min(257 - header, capacity - o);
      out.fill(segment[i++]!, o, o + count);
      o += count;
    }
    // 128 is a no-op by definition.
  }
  return o;
}

/**
 * One RLE Lossless frame (PS3.5 Annex G): a 64-byte header of up to 15 segment offsets, then one
 * segment per byte of each sample, most significant byte first, sample by sample. The result is
 * interleaved whatever Planar Configuration says, because the segments already separate the samples.
 */
export function decodeRleFrame(frame: Uint8Array, attrs: PixelModule): PixelArray {
  if (attrs.bitsAllocated === 1 || attrs.float) throw new CodecError(`RLE with Bits Allocated ${attrs.bitsAllocated} is not supported`, true);
  if (frame.length < 64) throw new CodecError('RLE frame is shorter than its 64-byte header');
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const segments = view.getUint32(0, true);
  const bytesPerSample = attrs.bitsAllocated / 8;
  const expected = attrs.samplesPerPixel * bytesPerSample;
  if (segments !== expected) throw new CodecError(`RLE header declares ${segments} segments; ${attrs.samplesPerPixel} sample(s) of ${attrs.bitsAllocated} bits need ${expected}`);
  const offsets: number[] = [];
  for (let s = 0; s < segments; s++) offsets.push(view.getUint32(4 + s * 4, true));
  offsets.push(frame.length);
  for (let s = 0; s < segments; s++) {
    if (offsets[s]! < 64 || offsets[s]! > offsets[s + 1]!) throw new CodecError(`RLE segment ${s + 1} has an offset out of order or out of range`);
  }

  const pixels = attrs.rows * attrs.columns;
  const samples = attrs.samplesPerPixel;
  const bytes = new Uint8Array(pixels * samples * bytesPerSample);
  const plane = new Uint8Array(pixels);
  for (let s = 0; s < segments; s++) {
    const decoded = decodePackBits(frame.subarray(offsets[s]!, offsets[s + 1]!), plane);
    if (decoded < pixels) throw new CodecError(`RLE segment ${s + 1} decodes to ${decoded} bytes, ${pixels} expected`);
    const sample = Math.floor(s / bytesPerSample);
    const byteInSample = bytesPerSample - 1 - (s % bytesPerSample);
    const stride = samples * bytesPerSample;
    let o = sample * bytesPerSample + byteInSample;
    for (let p = 0; p < pixels; p++, o += stride) bytes[o] = plane[p]!;
  }
  return fromLittleEndian(bytes, attrs);
}
