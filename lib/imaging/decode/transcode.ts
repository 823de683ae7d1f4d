/**
 * Rewrites a dataset the viewer cannot decode (JPEG-LS, deflate, …) as an Explicit VR Little
 * Endian file with native pixel data. Elements other than the pixel data are copied byte for
 * byte, which is only possible because the source is explicit VR little endian too (every
 * encapsulated syntax is, and a deflated dataset is once inflated).
 */
import { getMetaBytes, parseDicom, Tags, type DicomDataset, type DicomElement } from '@/lib/dicom';
import type { DecodedFrame } from '../types';
import { jpegFrameIsNotYcc } from './compressed';
import { PixelDecodeError } from './errors';
import { encapsulatedFrameBytes } from './frames';
import { canBrowserDecode, decodeFrame, type DecodeOptions } from './decode-frame';
import { readPixelModule } from './pixel-module';

export const EXPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2.1';

/** UID root for files this module writes: 2.25 + a UUID (PS3.5 B.2) made once for this purpose. */
export const IMPLEMENTATION_CLASS_UID = '2.25.209734591720347925541394863917437266161';
export const IMPLEMENTATION_VERSION_NAME = 'IMAGING_DECODE_1';

const LONG_LENGTH_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'UC', 'UN', 'UR', 'UT', 'SV', 'UV']);
const LOSSY_SYNTAXES = /^1\.2\.840\.10008\.1\.2\.4\.(5[0-6]|59|6[0-4]|81|91|93|10\d|11[12]|203)$/;
const LOSSY_IMAGE_COMPRESSION = 0x00282110;
const EXTENDED_OFFSET_TABLE = 0x7fe00001;
const EXTENDED_OFFSET_TABLE_LENGTHS = 0x7fe00002;

export interface BrowserEncoding {
  bytes: Uint8Array;
  /** Transfer syntax of `bytes`. */
  transferSyntaxUid: string;
  /**
   * `none`: the file as it was. `header`: the same dataset behind a preamble and file meta
   * group, which dwv cannot do without. `transcoded`: decoded to Explicit VR Little Endian.
   */
  change: 'none' | 'header' | 'transcoded';
}

function element(tag: number, vr: string, value: Uint8Array): Uint8Array {
  const long = LONG_LENGTH_VRS.has(vr);
  const header = long ? 12 : 8;
  if (!long && value.length > 0xffff) throw new PixelDecodeError('unsupported_pixel_format', `value of ${vr} element is too long to write`);
  const out = new Uint8Array(header + value.length);
  const view = new DataView(out.buffer);
  view.setUint16(0, tag >>> 16, true);
  view.setUint16(2, tag & 0xffff, true);
  out[4] = vr.charCodeAt(0);
  out[5] = vr.charCodeAt(1);
  if (long) view.setUint32(8, value.length, true);
  else view.setUint16(6, value.length, true);
  out.set(value, header);
  return out;
}

/** A string value padded to even length (NUL for UI, space otherwise). */
function text(value: string, vr: string): Uint8Array {
  const padded = value.length % 2 === 0 ? value : value + (vr === 'UI' ? '\0' : ' ');
  return new TextEncoder().encode(padded);
}

function uint16(value: number): Uint8Array {
  return new Uint8Array([value & 0xff, value >> 8]);
}

function concat(parts: Uint8Array[]): Uint8Array {
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

function fileMeta(fileBytes: Uint8Array, dataset: DicomDataset, transferSyntaxUid: string): Uint8Array {
  const owned = new Set([0x00020000, 0x00020001, 0x00020002, 0x00020003, 0x00020010, 0x00020012, 0x00020013]);
  const parts = [
    element(0x00020001, 'OB', new Uint8Array([0, 1])),
    element(0x00020002, 'UI', text(metaString(dataset, 0x00020002, Tags.SopClassUid), 'UI')),
    element(0x00020003, 'UI', text(metaString(dataset, 0x00020003, Tags.SopInstanceUid), 'UI')),
    element(0x00020010, 'UI', text(transferSyntaxUid, 'UI')),
    element(0x00020012, 'UI', text(IMPLEMENTATION_CLASS_UID, 'UI')),
    element(0x00020013, 'SH', text(IMPLEMENTATION_VERSION_NAME, 'SH')),
  ];
  // Source AE titles and private meta information travel with the file.
  for (const meta of dataset.meta?.elements.values() ?? []) {
    if (owned.has(meta.tag)) continue;
    const value = getMetaBytes(fileBytes, meta);
    if (value) parts.push(element(meta.tag, meta.vr, value));
  }
  const body = concat(parts);
  const groupLength = new Uint8Array(4);
  new DataView(groupLength.buffer).setUint32(0, body.length, true);
  return concat([element(0x00020000, 'UL', groupLength), body]);
}

/** Frames one after another, little endian; 1-bit data packed again (LSB first) across frames. */
function pixelBytes(frames: DecodedFrame[], bitsAllocated: number): Uint8Array {
  if (bitsAllocated === 1) {
    const total = frames.reduce((sum, frame) => sum + frame.data.length, 0);
    const out = new Uint8Array(Math.ceil(total / 8) + (Math.ceil(total / 8) % 2));
    let bit = 0;
    for (const frame of frames) {
      for (let i = 0; i < frame.data.length; i++, bit++) if (frame.data[i]) out[bit >>> 3]! |= 1 << (bit & 7);
    }
    return out;
  }
  const size = frames.reduce((sum, frame) => sum + frame.data.byteLength, 0);
  const out = new Uint8Array(size + (size % 2));
  const view = new DataView(out.buffer);
  let at = 0;
  for (const { data } of frames) {
    const width = data.BYTES_PER_ELEMENT;
    for (let i = 0; i < data.length; i++, at += width) {
      const v = data[i]!;
      if (data instanceof Float32Array) view.setFloat32(at, v, true);
      else if (data instanceof Float64Array) view.setFloat64(at, v, true);
      else if (width === 1) out[at] = v;
      else if (width === 2) view.setUint16(at, v & 0xffff, true);
      else view.setUint32(at, v >>> 0, true);
    }
  }
  return out;
}

/** Byte range of a top-level element: its header through its value (or up to the next element). */
function elementEnd(dataset: DicomDataset, elements: DicomElement[], index: number): number {
  const el = elements[index]!;
  if (el.length !== undefined) return el.valueOffset + el.length;
  return elements[index + 1]?.offset ?? dataset.datasetBytes.length;
}

/**
 * The whole file as Explicit VR Little Endian with every frame decoded: same elements, native
 * Pixel Data (OB/OW, defined length), Photometric Interpretation / Planar Configuration updated
 * where decoding changed them, Lossy Image Compression kept at '01' for lossy sources.
 */
export async function transcodeToExplicitLittleEndian(fileBytes: Uint8Array, dataset?: DicomDataset, options: DecodeOptions = {}): Promise<Uint8Array> {
  // Elements after the pixel data (trailing padding, signatures) are only known to a full parse.
  const ds = dataset && !dataset.stoppedAtPixelData ? dataset : parseDicom(fileBytes, { stopAtPixelData: false });
  const pixelData = ds.pixelData;
  if (!pixelData) throw new PixelDecodeError('no_pixel_data', 'the dataset has no pixel data');
  if (!ds.explicitVr || !ds.littleEndian) {
    throw new PixelDecodeError('unsupported_transfer_syntax', 'only explicit VR little endian datasets (encapsulated or deflated) are transcoded; the browser reads the others as they are');
  }
  const attrs = readPixelModule(ds);
  const frames: DecodedFrame[] = [];
  for (let i = 0; i < attrs.numberOfFrames; i++) frames.push(await decodeFrame(ds, i, options));
  const first = frames[0]!;

  const overrides = new Map<number, Uint8Array>();
  if (first.photometricInterpretation !== attrs.photometricInterpretation) {
    overrides.set(Tags.PhotometricInterpretation, element(Tags.PhotometricInterpretation, 'CS', text(first.photometricInterpretation, 'CS')));
  }
  if (attrs.samplesPerPixel > 1) overrides.set(Tags.PlanarConfiguration, element(Tags.PlanarConfiguration, 'US', uint16(0)));
  const sourceSyntax = ds.transferSyntaxUid ?? ds.transferSyntax.uid;
  if (LOSSY_SYNTAXES.test(sourceSyntax) && !ds.elements.has(LOSSY_IMAGE_COMPRESSION)) {
    overrides.set(LOSSY_IMAGE_COMPRESSION, element(LOSSY_IMAGE_COMPRESSION, 'CS', text('01', 'CS')));
  }
  const vr = pixelData.tag === Tags.FloatPixelData ? 'OF' : pixelData.tag === Tags.DoubleFloatPixelData ? 'OD' : attrs.bitsAllocated > 8 ? 'OW' : 'OB';
  overrides.set(pixelData.tag, element(pixelData.tag, vr, pixelBytes(frames, attrs.bitsAllocated)));

  const elements = [...ds.elements.values()];
  const dropped = (tag: number) => (tag & 0xffff) === 0 || tag === EXTENDED_OFFSET_TABLE || tag === EXTENDED_OFFSET_TABLE_LENGTHS;
  const pending = [...overrides.keys()].sort((a, b) => a - b);
  const parts: Uint8Array[] = [new Uint8Array(128), new TextEncoder().encode('DICM'), fileMeta(fileBytes, ds, EXPLICIT_VR_LITTLE_ENDIAN)];
  const flush = (before: number) => {
    while (pending.length > 0 && pending[0]! < before) parts.push(overrides.get(pending.shift()!)!);
  };
  elements.forEach((el, index) => {
    flush(el.tag);
    if (overrides.has(el.tag)) {
      if (pending[0] === el.tag) parts.push(overrides.get(pending.shift()!)!);
      return;
    }
    if (dropped(el.tag)) return;
    const end = elementEnd(ds, elements, index);
    if (end < el.offset || end > ds.datasetBytes.length) throw new PixelDecodeError('corrupt_pixel_data', `element ${el.tag.toString(16)} has an impossible length`);
    parts.push(ds.datasetBytes.subarray(el.offset, end));
  });
  flush(Number.POSITIVE_INFINITY);
  return concat(parts);
}

/**
 * The dataset unchanged behind a preamble, 'DICM' and a file meta group: for files that have
 * none (dwv only guesses the encoding of files that start with a group 0008 element).
 */
function withPart10Header(fileBytes: Uint8Array, dataset: DicomDataset, transferSyntaxUid: string): Uint8Array {
  const meta = dataset.hasFileMeta ? fileBytes.subarray(dataset.preamble ? 132 : 0, dataset.datasetOffset) : fileMeta(fileBytes, dataset, transferSyntaxUid);
  return concat([new Uint8Array(128), new TextEncoder().encode('DICM'), meta, fileBytes.subarray(dataset.datasetOffset)]);
}

/**
 * Whether dwv shows this dataset's pixels as they are: its transfer syntax is one dwv decodes,
 * and it is not a three-component baseline JPEG holding RGB (dwv's decoder turns any three
 * components from YCbCr into RGB, which ruins those).
 */
function browserDecodesCorrectly(dataset: DicomDataset, uid: string): boolean {
  if (!canBrowserDecode(uid)) return false;
  if (uid !== '1.2.840.10008.1.2.4.50') return true;
  try {
    const attrs = readPixelModule(dataset);
    return attrs.samplesPerPixel !== 3 || !jpegFrameIsNotYcc(encapsulatedFrameBytes(dataset, attrs.numberOfFrames, 0), attrs.photometricInterpretation);
  } catch {
    return true; // damaged beyond what the server could decode either: let the viewer report it
  }
}

/**
 * What to send the viewer: the file unchanged when dwv can read it, the same dataset with a
 * Part 10 header when it lacks one, and an Explicit VR Little Endian transcode when dwv cannot
 * decode it correctly (JPEG-LS, deflate, 12-bit JPEG, RGB baseline JPEG without a colour
 * transform).
 */
export async function encodeForBrowser(fileBytes: Uint8Array, dataset?: DicomDataset, options: DecodeOptions = {}): Promise<BrowserEncoding> {
  const ds = dataset ?? parseDicom(fileBytes, { stopAtPixelData: false });
  const uid = ds.transferSyntaxUid ?? ds.transferSyntax.uid;
  if (ds.pixelData && !browserDecodesCorrectly(ds, uid)) {
    return { bytes: await transcodeToExplicitLittleEndian(fileBytes, ds, options), transferSyntaxUid: EXPLICIT_VR_LITTLE_ENDIAN, change: 'transcoded' };
  }
  if (!ds.preamble || !ds.hasFileMeta) return { bytes: withPart10Header(fileBytes, ds, uid), transferSyntaxUid: uid, change: 'header' };
  return { bytes: fileBytes, transferSyntaxUid: uid, change: 'none' };
}
