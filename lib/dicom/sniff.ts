import { LONG_LENGTH_VRS, isVr } from './vr';

export interface SniffResult {
  dicom: boolean;
  /** 128-byte preamble followed by 'DICM'. */
  preamble: boolean;
}

export interface EncodingGuess {
  explicitVr: boolean;
  littleEndian: boolean;
}

export function hasDicmPrefix(bytes: Uint8Array): boolean {
  return bytes.length >= 132 && bytes[128] === 0x44 && bytes[129] === 0x49 && bytes[130] === 0x43 && bytes[131] === 0x4d;
}

const u16le = (b: Uint8Array, p: number) => (b[p] as number) | ((b[p + 1] as number) << 8);
const u16be = (b: Uint8Array, p: number) => ((b[p] as number) << 8) | (b[p + 1] as number);
const u32le = (b: Uint8Array, p: number) => ((b[p] as number) | ((b[p + 1] as number) << 8) | ((b[p + 2] as number) << 16)) + (b[p + 3] as number) * 0x1000000;

/** Largest value a plausible first element of a file would have; real ones are a few bytes. */
const MAX_FIRST_VALUE = 1 << 20;

/**
 * How the data element at `pos` is encoded, if it looks like the start of a DICOM dataset or meta
 * group: group 0002 or 0008 in explicit or implicit VR little endian, or group 0008 in explicit VR
 * big endian (the meta group is always little endian). Undefined when it does not.
 */
export function guessEncoding(bytes: Uint8Array, pos: number, groups: readonly number[] = [0x0002, 0x0008]): EncodingGuess | undefined {
  if (bytes.length - pos < 8) return undefined;
  const vr = String.fromCharCode(bytes[pos + 4] as number, bytes[pos + 5] as number);
  if (isVr(vr)) {
    if (LONG_LENGTH_VRS.has(vr) && (bytes[pos + 6] !== 0 || bytes[pos + 7] !== 0)) return undefined;
    if (groups.includes(u16le(bytes, pos))) return { explicitVr: true, littleEndian: true };
    if (groups.includes(u16be(bytes, pos)) && u16be(bytes, pos) !== 0x0002) return { explicitVr: true, littleEndian: false };
    return undefined;
  }
  const group = u16le(bytes, pos);
  if (!groups.includes(group)) return undefined;
  const length = u32le(bytes, pos + 4);
  if (length > MAX_FIRST_VALUE) return undefined;
  // Without a VR to check, also require the next element (when it is in reach) to follow in tag order.
  const next = pos + 8 + length;
  if (next + 4 <= bytes.length) {
    const nextGroup = u16le(bytes, next);
    const nextElement = u16le(bytes, next + 2);
    if (nextGroup < group || (nextGroup === group && nextElement <= u16le(bytes, pos + 2))) return undefined;
  }
  return { explicitVr: false, littleEndian: true };
}

/**
 * Content recognition from the first bytes: 'DICM' at offset 128, or a dataset without preamble
 * that starts with a plausible (0002,xxxx) or (0008,xxxx) element.
 */
export function sniffDicom(bytes: Uint8Array): SniffResult {
  if (hasDicmPrefix(bytes)) return { dicom: true, preamble: true };
  return { dicom: guessEncoding(bytes, 0) !== undefined, preamble: false };
}

/**
 * Encoding of a dataset whose first element may be in any group (after a preamble without file
 * meta, or after the meta group). Undefined when there are not enough bytes to tell.
 */
export function guessDatasetEncoding(bytes: Uint8Array, pos: number): EncodingGuess | undefined {
  if (bytes.length - pos < 8) return undefined;
  const vr = String.fromCharCode(bytes[pos + 4] as number, bytes[pos + 5] as number);
  if (isVr(vr) && !(LONG_LENGTH_VRS.has(vr) && (bytes[pos + 6] !== 0 || bytes[pos + 7] !== 0))) {
    // Groups are small numbers, so the byte order that reads the smaller group is the right one.
    return { explicitVr: true, littleEndian: u16le(bytes, pos) <= u16be(bytes, pos) };
  }
  return { explicitVr: false, littleEndian: true };
}
