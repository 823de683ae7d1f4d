/**
 * Writing a little endian dataset again with some elements replaced, added or dropped, every other
 * element copied byte for byte (sequences, private tags and all): what browser copies are made of.
 */
import { getMetaBytes, Tags, type DicomDataset, type DicomElement } from '@/lib/dicom';
import { PixelDecodeError } from './errors';

/** UID root for files this module writes: 2.25 + a UUID (PS3.5 B.2) made once for this purpose. */
export const IMPLEMENTATION_CLASS_UID = '2.25.209734591720347925541394863917437266161';
export const IMPLEMENTATION_VERSION_NAME = 'IMAGING_DECODE_1';

export const IMPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2';
export const EXPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2.1';

const LONG_LENGTH_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'UC', 'UN', 'UR', 'UT', 'SV', 'UV']);
const EXTENDED_OFFSET_TABLE = 0x7fe00001;
const EXTENDED_OFFSET_TABLE_LENGTHS = 0x7fe00002;

/** One element, encoded (explicit VR unless `explicit` is false), with a defined length. */
export function encodeElement(tag: number, vr: string, value: Uint8Array, explicit = true): Uint8Array {
  const long = LONG_LENGTH_VRS.has(vr);
  const header = explicit && long ? 12 : 8;
  if (explicit && !long && value.length > 0xffff) throw new PixelDecodeError('unsupported_pixel_format', `value of ${vr} element is too long to write`);
  const out = new Uint8Array(header + value.length);
  const view = new DataView(out.buffer);
  view.setUint16(0, tag >>> 16, true);
  view.setUint16(2, tag & 0xffff, true);
  if (!explicit) {
    view.setUint32(4, value.length, true);
  } else {
    out[4] = vr.charCodeAt(0);
    out[5] = vr.charCodeAt(1);
    if (long) view.setUint32(8, value.length, true);
    else view.setUint16(6, value.length, true);
  }
  out.set(value, header);
  return out;
}

/** A string value padded to even length (NUL for UI, space otherwise). */
export function text(value: string, vr: string): Uint8Array {
  const padded = value.length % 2 === 0 ? value : value + (vr === 'UI' ? '\0' : ' ');
  return new TextEncoder().encode(padded);
}

export function uint16(value: number): Uint8Array {
  return new Uint8Array([value & 0xff, (value >> 8) & 0xff]);
}

/**
 * A number as a Decimal String (at most 16 characters, PS3.5 6.2): as many significant digits as
 * fit, so that values survive the text round trip as closely as DS allows.
 */
export function decimalString(value: number): string {
  if (!Number.isFinite(value)) throw new PixelDecodeError('unsupported_pixel_format', `${value} cannot be written as a decimal string`);
  if (Number.isInteger(value) && String(value).length <= 16) return String(value);
  for (let digits = 16; digits >= 1; digits--) {
    const candidate = trimNumber(value.toPrecision(digits));
    if (candidate.length <= 16) return candidate;
  }
  return trimNumber(value.toExponential(8));
}

function trimNumber(value: string): string {
  const [mantissa, exponent] = value.split('e');
  const trimmed = mantissa!.includes('.') ? mantissa!.replace(/0+$/, '').replace(/\.$/, '') : mantissa!;
  return exponent === undefined ? trimmed : `${trimmed}e${exponent.replace(/^\+/, '')}`;
}

export function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

function metaString(dataset: DicomDataset, metaTag: number, fallbackTag: number): string {
  const fromMeta = dataset.meta?.elements.get(metaTag)?.value;
  if (fromMeta?.kind === 'string' && fromMeta.values[0]) return fromMeta.values[0];
  const fromDataset = dataset.elements.get(fallbackTag)?.value;
  if (fromDataset?.kind === 'string' && fromDataset.values[0]) return fromDataset.values[0];
  return '';
}

/** A file meta group (always explicit VR little endian) for the dataset written as `transferSyntaxUid`. */
export function fileMeta(fileBytes: Uint8Array, dataset: DicomDataset, transferSyntaxUid: string, sopInstanceUid?: string): Uint8Array {
  const owned = new Set([0x00020000, 0x00020001, 0x00020002, 0x00020003, 0x00020010, 0x00020012, 0x00020013]);
  const parts = [
    encodeElement(0x00020001, 'OB', new Uint8Array([0, 1])),
    encodeElement(0x00020002, 'UI', text(metaString(dataset, 0x00020002, Tags.SopClassUid), 'UI')),
    encodeElement(0x00020003, 'UI', text(sopInstanceUid || metaString(dataset, 0x00020003, Tags.SopInstanceUid), 'UI')),
    encodeElement(0x00020010, 'UI', text(transferSyntaxUid, 'UI')),
    encodeElement(0x00020012, 'UI', text(IMPLEMENTATION_CLASS_UID, 'UI')),
    encodeElement(0x00020013, 'SH', text(IMPLEMENTATION_VERSION_NAME, 'SH')),
  ];
  // Source AE titles and private meta information travel with the file.
  for (const meta of dataset.meta?.elements.values() ?? []) {
    if (owned.has(meta.tag)) continue;
    const value = getMetaBytes(fileBytes, meta);
    if (value) parts.push(encodeElement(meta.tag, meta.vr, value));
  }
  const body = concat(parts);
  const groupLength = new Uint8Array(4);
  new DataView(groupLength.buffer).setUint32(0, body.length, true);
  return concat([encodeElement(0x00020000, 'UL', groupLength), body]);
}

/** Byte range of a top-level element: its header through its value (or up to the next element). */
function elementEnd(dataset: DicomDataset, elements: DicomElement[], index: number): number {
  const el = elements[index]!;
  if (el.length !== undefined) return el.valueOffset + el.length;
  return elements[index + 1]?.offset ?? dataset.datasetBytes.length;
}

/**
 * An explicit VR element stored as UN although the dictionary knows its VR (some converters write
 * them so): its value is the implicit little endian encoding of that VR (PS3.5 6.2.2), so it can be
 * written with the right VR again. dwv reads UN as raw bytes, and then trips over a SOP Class UID
 * that is not a string. Sequences and values too long for a short VR stay as they are.
 */
export function storedAsUnknown(dataset: DicomDataset, el: DicomElement): boolean {
  if (!dataset.explicitVr || el.vr === 'UN' || el.vr === 'SQ' || el.length === undefined) return false;
  const bytes = dataset.datasetBytes;
  if (bytes[el.offset + 4] !== 0x55 || bytes[el.offset + 5] !== 0x4e) return false;
  return LONG_LENGTH_VRS.has(el.vr) || el.length <= 0xffff;
}

/**
 * Element replacements: an encoded element (see encodeElement; its encoding must match the
 * dataset's), or null to leave the element out.
 */
export type ElementOverrides = Map<number, Uint8Array | null>;

/**
 * The dataset as a Part 10 file (preamble, 'DICM', a new file meta group naming
 * `transferSyntaxUid`), top-level elements copied byte for byte except the overrides, which are
 * put in tag order. Group lengths and the extended offset table are left out (they would be wrong
 * after any change). Only for little endian datasets, whose bytes can be copied as they are.
 */
export function rewriteDataset(fileBytes: Uint8Array, dataset: DicomDataset, transferSyntaxUid: string, overrides: ElementOverrides, sopInstanceUid?: string): Uint8Array {
  if (!dataset.littleEndian) throw new PixelDecodeError('unsupported_transfer_syntax', 'only little endian datasets are rewritten; big endian ones are read by the browser as they are');
  const elements = [...dataset.elements.values()];
  const dropped = (tag: number) => (tag & 0xffff) === 0 || tag === EXTENDED_OFFSET_TABLE || tag === EXTENDED_OFFSET_TABLE_LENGTHS;
  const pending = [...overrides.keys()].sort((a, b) => a - b);
  const parts: Uint8Array[] = [new Uint8Array(128), new TextEncoder().encode('DICM'), fileMeta(fileBytes, dataset, transferSyntaxUid, sopInstanceUid)];
  const put = (tag: number) => {
    const value = overrides.get(tag);
    if (value) parts.push(value);
  };
  const flush = (before: number) => {
    while (pending.length > 0 && pending[0]! < before) put(pending.shift()!);
  };
  elements.forEach((el, index) => {
    flush(el.tag);
    if (overrides.has(el.tag)) {
      if (pending[0] === el.tag) put(pending.shift()!);
      return;
    }
    if (dropped(el.tag)) return;
    const end = elementEnd(dataset, elements, index);
    if (end < el.offset || end > dataset.datasetBytes.length) throw new PixelDecodeError('corrupt_pixel_data', `element ${el.tag.toString(16)} has an impossible length`);
    parts.push(storedAsUnknown(dataset, el) ? encodeElement(el.tag, el.vr, dataset.datasetBytes.subarray(el.valueOffset, end)) : dataset.datasetBytes.subarray(el.offset, end));
  });
  flush(Number.POSITIVE_INFINITY);
  return concat(parts);
}
