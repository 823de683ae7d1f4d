/**
 * Browser copies: a dataset dwv cannot show correctly (JPEG-LS, deflate, 32-bit integers, …)
 * rewritten so that it can. Elements other than the ones a fix changes are copied byte for byte,
 * which is possible because every such source is little endian (every encapsulated syntax is
 * explicit VR little endian, and a deflated dataset is once inflated). The original stays as it
 * was; processing stores the copy beside it.
 */
import { CodestreamError, getString, parseDicom, readCodestreamHeader, Tags, unwrapJp2, type CodestreamHeader, type DicomDataset } from '@/lib/dicom';
import type { DecodedFrame } from '../types';
import { DECODING_FIXES, encapsulatedPixelData, encoderFor, narrowInt32, segmentationAsImage, widenColour, type BrowserFix } from './browser-fixes';
import { jpegFrameIsNotYcc } from './compressed';
import { PixelDecodeError } from './errors';
import { encapsulatedFrameBytes } from './frames';
import { canBrowserDecode, decodeFrame, type DecodeOptions } from './decode-frame';
import { readPixelModule, type PixelModule } from './pixel-module';
import { concat, EXPLICIT_VR_LITTLE_ENDIAN, fileMeta, IMPLICIT_VR_LITTLE_ENDIAN, rewriteDataset, storedAsUnknown, text, uint16, type ElementOverrides } from './rewrite';

export { EXPLICIT_VR_LITTLE_ENDIAN, IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME } from './rewrite';
export type { BrowserFix } from './browser-fixes';

const LOSSY_SYNTAXES = /^1\.2\.840\.10008\.1\.2\.4\.(5[0-6]|59|6[0-4]|81|91|93|10\d|11[12]|203)$/;
const JPEG_2000 = /^1\.2\.840\.10008\.1\.2\.4\.9[0-3]$/;
const LOSSY_IMAGE_COMPRESSION = 0x00282110;

export interface BrowserEncoding {
  bytes: Uint8Array;
  /** Transfer syntax of `bytes`. */
  transferSyntaxUid: string;
  /**
   * `none`: the file as it was. `header`: the same dataset behind a preamble and file meta
   * group, which dwv cannot do without. `rewritten`: the same pixel data repackaged, or UIDs
   * added, without decoding. `transcoded`: frames decoded to native pixels (Explicit VR Little
   * Endian, or Implicit for implicit sources).
   */
  change: 'none' | 'header' | 'rewritten' | 'transcoded';
  /** What was changed for dwv, and why (see BrowserFix). */
  fixes: BrowserFix[];
}

/** UIDs the catalogue holds for an instance (lib/ingest makes some for files that lack them). */
export interface CatalogueUids {
  studyInstanceUid: string;
  seriesInstanceUid: string;
  sopInstanceUid: string;
}

export interface BrowserOptions extends DecodeOptions {
  /** Written into the copy where the dataset has none of its own. */
  uids?: CatalogueUids;
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

/** Decodes every frame of a little endian dataset and writes them natively, with the fixes asked for. */
async function decodedCopy(fileBytes: Uint8Array, ds: DicomDataset, fixes: readonly BrowserFix[], overrides: ElementOverrides, options: DecodeOptions, sopInstanceUid?: string) {
  const pixelData = ds.pixelData;
  if (!pixelData) throw new PixelDecodeError('no_pixel_data', 'the dataset has no pixel data');
  const attrs = readPixelModule(ds);
  const encode = encoderFor(ds);
  let frames: DecodedFrame[] = [];
  for (let i = 0; i < attrs.numberOfFrames; i++) frames.push(await decodeFrame(ds, i, options));
  const first = frames[0]!;

  if (first.photometricInterpretation !== attrs.photometricInterpretation) {
    overrides.set(Tags.PhotometricInterpretation, encode(Tags.PhotometricInterpretation, 'CS', text(first.photometricInterpretation, 'CS')));
  }
  if (attrs.samplesPerPixel > 1) overrides.set(Tags.PlanarConfiguration, encode(Tags.PlanarConfiguration, 'US', uint16(0)));
  const sourceSyntax = ds.transferSyntaxUid ?? ds.transferSyntax.uid;
  if (LOSSY_SYNTAXES.test(sourceSyntax) && !ds.elements.has(LOSSY_IMAGE_COMPRESSION)) {
    overrides.set(LOSSY_IMAGE_COMPRESSION, encode(LOSSY_IMAGE_COMPRESSION, 'CS', text('01', 'CS')));
  }
  for (const fix of fixes) {
    const step = fix === 'int32' ? narrowInt32(frames, ds, encode) : fix === 'segmentation' ? segmentationAsImage(frames, encode) : fix === 'odd-colour' ? widenColour(frames, encode) : null;
    if (!step) continue;
    frames = step.frames;
    for (const [tag, value] of step.overrides) overrides.set(tag, value);
  }
  const bits = frames[0]!.bitsAllocated;
  const vr = pixelData.tag === Tags.FloatPixelData ? 'OF' : pixelData.tag === Tags.DoubleFloatPixelData ? 'OD' : bits > 8 ? 'OW' : 'OB';
  overrides.set(pixelData.tag, encode(pixelData.tag, vr, pixelBytes(frames, bits)));
  const syntax = ds.explicitVr ? EXPLICIT_VR_LITTLE_ENDIAN : IMPLICIT_VR_LITTLE_ENDIAN;
  return { bytes: rewriteDataset(fileBytes, ds, syntax, overrides, sopInstanceUid), transferSyntaxUid: syntax };
}

function fullParse(fileBytes: Uint8Array, dataset?: DicomDataset): DicomDataset {
  // Elements after the pixel data (trailing padding, signatures) are only known to a full parse.
  return dataset && !dataset.stoppedAtPixelData ? dataset : parseDicom(fileBytes, { stopAtPixelData: false });
}

/**
 * The whole file as Explicit VR Little Endian with every frame decoded: same elements, native
 * Pixel Data (OB/OW, defined length), Photometric Interpretation / Planar Configuration updated
 * where decoding changed them, Lossy Image Compression kept at '01' for lossy sources.
 */
export async function transcodeToExplicitLittleEndian(fileBytes: Uint8Array, dataset?: DicomDataset, options: DecodeOptions = {}): Promise<Uint8Array> {
  const ds = fullParse(fileBytes, dataset);
  if (!ds.pixelData) throw new PixelDecodeError('no_pixel_data', 'the dataset has no pixel data');
  if (!ds.explicitVr || !ds.littleEndian) {
    throw new PixelDecodeError('unsupported_transfer_syntax', 'only explicit VR little endian datasets (encapsulated or deflated) are transcoded; the browser reads the others as they are');
  }
  return (await decodedCopy(fileBytes, ds, ['decode'], new Map(), options)).bytes;
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
function browserDecodesCorrectly(dataset: DicomDataset, uid: string, attrs: PixelModule | null): boolean {
  if (!canBrowserDecode(uid)) return false;
  if (uid !== '1.2.840.10008.1.2.4.50' || !attrs) return true;
  try {
    return attrs.samplesPerPixel !== 3 || !jpegFrameIsNotYcc(encapsulatedFrameBytes(dataset, attrs.numberOfFrames, 0), attrs.photometricInterpretation);
  } catch {
    return true; // damaged beyond what the server could decode either: let the viewer report it
  }
}

function firstJ2kHeader(dataset: DicomDataset, attrs: PixelModule): CodestreamHeader | null {
  try {
    return readCodestreamHeader(encapsulatedFrameBytes(dataset, attrs.numberOfFrames, 0), 'jpeg2000');
  } catch (error) {
    if (error instanceof CodestreamError || error instanceof PixelDecodeError) return null; // the viewer will report it
    throw error;
  }
}

/** What dwv would get wrong about this dataset's pixels (see BrowserFix). */
export function pixelFixes(dataset: DicomDataset): BrowserFix[] {
  if (!dataset.pixelData) return [];
  const uid = dataset.transferSyntaxUid ?? dataset.transferSyntax.uid;
  let attrs: PixelModule | null = null;
  try {
    attrs = readPixelModule(dataset);
  } catch {
    attrs = null; // decoding will say what is wrong, if it is tried at all
  }
  const fixes: BrowserFix[] = [];
  let decodes = browserDecodesCorrectly(dataset, uid, attrs);
  let jp2 = false;
  if (decodes && attrs && JPEG_2000.test(uid)) {
    // dwv's JPEG 2000 decoder (pdf.js) keeps only the first tile, and gets signed 16-bit samples
    // wrong by one here and there, lossless or not (transcode.test.ts runs it on the corpus).
    const header = firstJ2kHeader(dataset, attrs);
    if (header && ((header.tiles ?? 1) > 1 || header.signed)) decodes = false;
    jp2 = !!header?.jp2;
  }
  if (!decodes) fixes.push('decode');
  // dwv reads big endian natively; its bytes cannot be copied into a little endian copy.
  if (!attrs || !dataset.littleEndian) return fixes;
  if (decodes && jp2) fixes.push('jp2-wrapper');
  if (attrs.bitsAllocated === 32 && !attrs.float) fixes.push('int32');
  if (getString(dataset, Tags.Modality)?.trim() === 'SEG') fixes.push('segmentation');
  const native = !dataset.transferSyntax.encapsulated || fixes.some((f) => DECODING_FIXES.has(f));
  const pixels = attrs.rows * attrs.columns * attrs.numberOfFrames;
  if (native && attrs.samplesPerPixel > 1 && attrs.bitsAllocated === 8 && pixels % 2 === 1) fixes.push('odd-colour');
  return fixes;
}

/** UID elements the dataset lacks, from the catalogue. */
function uidOverrides(dataset: DicomDataset, uids: CatalogueUids | undefined): ElementOverrides {
  const overrides: ElementOverrides = new Map();
  if (!uids) return overrides;
  const encode = encoderFor(dataset);
  for (const [tag, uid] of [
    [Tags.SopInstanceUid, uids.sopInstanceUid],
    [Tags.StudyInstanceUid, uids.studyInstanceUid],
    [Tags.SeriesInstanceUid, uids.seriesInstanceUid],
  ] as const) {
    if (!getString(dataset, tag)?.trim()) overrides.set(tag, encode(tag, 'UI', text(uid, 'UI')));
  }
  return overrides;
}

/**
 * What to send the viewer: the file unchanged when dwv shows it correctly, the same dataset with
 * a Part 10 header when it lacks one, and otherwise a copy with the fixes of pixelFixes (decoded
 * to native pixels, or JPEG 2000 unwrapped) and the catalogue's UIDs where the file has none.
 */
export async function encodeForBrowser(fileBytes: Uint8Array, dataset?: DicomDataset, options: BrowserOptions = {}): Promise<BrowserEncoding> {
  const ds = fullParse(fileBytes, dataset);
  const uid = ds.transferSyntaxUid ?? ds.transferSyntax.uid;
  const fixes = pixelFixes(ds);
  const overrides = ds.littleEndian ? uidOverrides(ds, options.uids) : new Map();
  if (overrides.size > 0) fixes.push('uids');
  if (ds.littleEndian && [...ds.elements.values()].some((el) => storedAsUnknown(ds, el))) fixes.push('un-vr');
  const sop = overrides.has(Tags.SopInstanceUid) ? options.uids?.sopInstanceUid : undefined;
  if (fixes.some((f) => DECODING_FIXES.has(f))) {
    const copy = await decodedCopy(fileBytes, ds, fixes, overrides, options, sop);
    return { ...copy, change: 'transcoded', fixes };
  }
  if (fixes.includes('jp2-wrapper')) {
    const attrs = readPixelModule(ds);
    const frames = Array.from({ length: attrs.numberOfFrames }, (_, i) => {
      return unwrapJp2(encapsulatedFrameBytes(ds, attrs.numberOfFrames, i));
    });
    overrides.set(ds.pixelData!.tag, encapsulatedPixelData(frames));
  }
  if (overrides.size > 0 || fixes.includes('un-vr')) return { bytes: rewriteDataset(fileBytes, ds, uid, overrides, sop), transferSyntaxUid: uid, change: 'rewritten', fixes };
  if (!ds.preamble || !ds.hasFileMeta) return { bytes: withPart10Header(fileBytes, ds, uid), transferSyntaxUid: uid, change: 'header', fixes };
  return { bytes: fileBytes, transferSyntaxUid: uid, change: 'none', fixes };
}
