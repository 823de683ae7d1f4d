/**
 * The DICOM JSON model (PS3.18 F.2): datasets as `{ "GGGGEEEE": { vr, Value | InlineBinary |
 * BulkDataURI } }`, for QIDO-RS results, WADO-RS metadata and STOW-RS responses.
 */
import { getElementBytes, tagHex, type DicomDataset, type DicomElement, type DicomItem } from '@/lib/dicom';

export interface PersonName {
  Alphabetic?: string;
  Ideographic?: string;
  Phonetic?: string;
}

export interface DicomJsonAttribute {
  vr: string;
  Value?: unknown[];
  InlineBinary?: string;
  BulkDataURI?: string;
}

export type DicomJsonDataset = Record<string, DicomJsonAttribute>;

/** One attribute; empty or missing values leave `Value` out, as PS3.18 F.2.5 asks. */
export function attribute(vr: string, values: unknown[] | unknown | null | undefined): DicomJsonAttribute {
  const list = values === null || values === undefined ? [] : Array.isArray(values) ? values : [values];
  const present = list.filter((v) => v !== null && v !== undefined && v !== '');
  if (present.length === 0) return { vr };
  return { vr, Value: vr === 'PN' ? list.map((v) => (typeof v === 'string' ? personName(v) : v)) : list.map((v) => (v === '' ? null : v)) };
}

/** 'Family^Given=ideographic=phonetic' as the JSON model's component groups. */
export function personName(value: string): PersonName | null {
  if (!value) return null;
  const [alphabetic, ideographic, phonetic] = value.split('=');
  const name: PersonName = {};
  if (alphabetic) name.Alphabetic = alphabetic;
  if (ideographic) name.Ideographic = ideographic;
  if (phonetic) name.Phonetic = phonetic;
  return name;
}

const BINARY_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'UN']);
const NUMBER_WIDTH: Record<string, number> = { US: 2, SS: 2, UL: 4, SL: 4, FL: 4, FD: 8, SV: 8, UV: 8 };
const PIXEL_DATA_TAGS = new Set([0x7fe00010, 0x7fe00008, 0x7fe00009]);

export interface ToJsonOptions {
  /**
   * URI of a top-level binary value sent as bulk data (pixel data, and binary values larger than
   * `inlineLimit`); without it such values are inlined (or left out when not in the bytes parsed).
   */
  bulkDataUri?: (element: DicomElement) => string | undefined;
  /** Largest binary value inlined as base64 (default 1024 bytes). */
  inlineLimit?: number;
}

/** Binary values in the JSON model are little endian, whatever the file's byte order. */
function littleEndian(bytes: Uint8Array, vr: string, sourceLittleEndian: boolean): Uint8Array {
  const width = vr === 'OW' ? 2 : vr === 'OF' || vr === 'OL' ? 4 : vr === 'OD' || vr === 'OV' ? 8 : 1;
  if (sourceLittleEndian || width === 1) return bytes;
  const out = new Uint8Array(bytes.length);
  for (let i = 0; i + width <= bytes.length; i += width) for (let b = 0; b < width; b++) out[i + b] = bytes[i + width - 1 - b]!;
  return out;
}

function numbersFromBytes(bytes: Uint8Array, vr: string, little: boolean): Array<number | string> {
  const width = NUMBER_WIDTH[vr] ?? 0;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: Array<number | string> = [];
  for (let at = 0; at + width <= bytes.length; at += width) {
    switch (vr) {
      case 'US': out.push(view.getUint16(at, little)); break;
      case 'SS': out.push(view.getInt16(at, little)); break;
      case 'UL': out.push(view.getUint32(at, little)); break;
      case 'SL': out.push(view.getInt32(at, little)); break;
      case 'FL': out.push(view.getFloat32(at, little)); break;
      case 'FD': out.push(view.getFloat64(at, little)); break;
      case 'SV': out.push(safeBig(view.getBigInt64(at, little))); break;
      case 'UV': out.push(safeBig(view.getBigUint64(at, little))); break;
    }
  }
  return out;
}

/** 64-bit integers beyond 2^53 travel as strings (PS3.18 F.2.3.1) so that no digit is lost. */
function safeBig(value: bigint): number | string {
  return value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(value) : value.toString();
}

function elementToJson(dataset: DicomDataset, element: DicomElement, depth: number, options: ToJsonOptions): DicomJsonAttribute {
  const { vr, value } = element;
  switch (value.kind) {
    case 'string':
      if (vr === 'PN') return attribute('PN', value.values);
      return attribute(vr, value.values);
    case 'numeric-string':
      return attribute(vr, value.values.map((n, i) => (n === null ? (value.text[i] ? value.text[i] : null) : n)));
    case 'number':
      return attribute(vr, value.values);
    case 'bigint':
      return attribute(vr, value.values.map(safeBig));
    case 'tag':
      return attribute('AT', value.values.map(tagHex));
    case 'sequence':
      return { vr: 'SQ', ...(value.items.length ? { Value: value.items.map((item) => itemToJson(dataset, item, depth + 1, options)) } : {}) };
    case 'binary':
    case 'encapsulated': {
      const bytes = value.kind === 'binary' ? getElementBytes(dataset, element) : undefined;
      if (!BINARY_VRS.has(vr) && NUMBER_WIDTH[vr] && bytes) return attribute(vr, numbersFromBytes(bytes, vr, dataset.littleEndian));
      const limit = options.inlineLimit ?? 1024;
      const bulk = depth === 0 && options.bulkDataUri && (PIXEL_DATA_TAGS.has(element.tag) || !bytes || bytes.length > limit);
      if (bulk) {
        const uri = options.bulkDataUri!(element);
        if (uri) return { vr, BulkDataURI: uri };
      }
      if (!bytes || value.kind === 'encapsulated') return { vr };
      return bytes.length ? { vr, InlineBinary: Buffer.from(littleEndian(bytes, vr, dataset.littleEndian)).toString('base64') } : { vr };
    }
  }
}

function itemToJson(dataset: DicomDataset, item: DicomItem, depth: number, options: ToJsonOptions): DicomJsonDataset {
  const out: DicomJsonDataset = {};
  for (const element of item.elements.values()) {
    // Group lengths are an encoding detail (PS3.18 F.2 leaves them out); the file meta group is not part of the dataset.
    if ((element.tag & 0xffff) === 0 || element.tag >>> 16 === 0x0002) continue;
    out[tagHex(element.tag)] = elementToJson(dataset, element, depth, options);
  }
  return out;
}

/** The dataset (without its file meta group) in the DICOM JSON model. */
export function datasetToJson(dataset: DicomDataset, options: ToJsonOptions = {}): DicomJsonDataset {
  return itemToJson(dataset, dataset, 0, options);
}
