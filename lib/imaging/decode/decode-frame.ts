import { inflateRawSync } from 'node:zlib';
import { CodestreamError, readCodestreamHeader, type DicomDataset } from '@/lib/dicom';
import type { DecodedFrame, PixelArray } from '../types';
import { decodeJ2kFrame, decodeJpegFrame, decodeJpegLsFrame, type CodecOutput } from './compressed';
import { CodecError, PixelDecodeError } from './errors';
import { encapsulatedFrameBytes } from './frames';
import { decodeNativeFrame, storedSamplesPerFrame } from './native';
import { allocatePixels, decodedFrameBytes, readPixelModule, samplesPerFrame, signExtend, type PixelModule } from './pixel-module';
import { decodeRleFrame } from './rle';
import type { Allocate } from '../scratch';

export interface DecodeOptions {
  /** Largest decoded frame accepted, in bytes (default 1 GiB): a header alone can claim 65535 x 65535. */
  maxFrameBytes?: number;
  /**
   * Where the decoded samples come from (zeroed memory), for the decoders that can write into
   * given memory (uncompressed, JPEG); the others allocate their own. Default: new arrays.
   */
  allocate?: Allocate;
}

export const DEFAULT_MAX_FRAME_BYTES = 1024 * 1024 * 1024;

const RLE = '1.2.840.10008.1.2.5';
const ENCAPSULATED_UNCOMPRESSED = '1.2.840.10008.1.2.1.98';
const DEFLATED_IMAGE_FRAME = '1.2.840.10008.1.2.8.1';
const JPEG = /^1\.2\.840\.10008\.1\.2\.4\.(5\d|6[0-6]|70)$/;
const JPEG_LS = /^1\.2\.840\.10008\.1\.2\.4\.8[01]$/;
const JPEG_2000 = /^1\.2\.840\.10008\.1\.2\.4\.9[0-3]$/;

/**
 * What dwv 0.36 reads (dicomParser.js isReadSupportedTransferSyntax) and decodes correctly: the
 * three uncompressed syntaxes, JPEG baseline, JPEG lossless, JPEG 2000 and RLE. It has no JPEG-LS
 * decoder and refuses deflated datasets. It accepts JPEG extended (.51) too, but its pdf.js-based
 * decoder gets 12-bit samples wrong and keeps the damage in module state for every later frame
 * of the same worker (see transcode.test.ts), so .51 is left to the server. (Its JPEG 2000 test
 * is a loose regex that also admits the JPIP syntaxes, which hold no pixel data to decode.)
 */
const BROWSER_SYNTAXES = new Set([
  '1.2.840.10008.1.2',
  '1.2.840.10008.1.2.1',
  '1.2.840.10008.1.2.2',
  '1.2.840.10008.1.2.4.50',
  '1.2.840.10008.1.2.4.57',
  '1.2.840.10008.1.2.4.70',
  '1.2.840.10008.1.2.4.90',
  '1.2.840.10008.1.2.4.91',
  '1.2.840.10008.1.2.4.92',
  '1.2.840.10008.1.2.4.93',
  RLE,
]);

export function canBrowserDecode(transferSyntaxUid: string): boolean {
  return BROWSER_SYNTAXES.has(transferSyntaxUid.trim());
}

/** Transfer syntaxes decodeFrame handles (for a 415-style answer before trying). */
export function canServerDecode(transferSyntaxUid: string): boolean {
  const uid = transferSyntaxUid.trim();
  return (
    ['1.2.840.10008.1.2', '1.2.840.10008.1.2.1', '1.2.840.10008.1.2.1.99', '1.2.840.10008.1.2.2', RLE, ENCAPSULATED_UNCOMPRESSED, DEFLATED_IMAGE_FRAME].includes(uid) ||
    JPEG.test(uid) ||
    JPEG_LS.test(uid) ||
    JPEG_2000.test(uid)
  );
}

function corrupt(message: string, cause?: unknown): PixelDecodeError {
  return new PixelDecodeError('corrupt_pixel_data', message, { cause });
}

/** Checks a codestream's own header against the DICOM one before a WASM codec allocates for it. */
function checkCodestream(frame: Uint8Array, family: 'jpeg' | 'jpeg2000', attrs: PixelModule): void {
  const header = readCodestreamHeader(frame, family);
  if (header.rows !== attrs.rows || header.columns !== attrs.columns || header.components !== attrs.samplesPerPixel) {
    throw new CodecError(
      `the codestream is ${header.columns} x ${header.rows} with ${header.components} component(s); the DICOM header says ${attrs.columns} x ${attrs.rows} with ${attrs.samplesPerPixel}`,
    );
  }
}

async function decodeEncapsulated(dataset: DicomDataset, attrs: PixelModule, frameIndex: number, uid: string, allocate?: Allocate): Promise<CodecOutput | PixelArray> {
  const frame = encapsulatedFrameBytes(dataset, attrs.numberOfFrames, frameIndex);
  if (uid === RLE) return decodeRleFrame(frame, attrs);
  if (JPEG.test(uid)) return decodeJpegFrame(frame, attrs, allocate);
  if (JPEG_LS.test(uid)) {
    checkCodestream(frame, 'jpeg', attrs);
    return decodeJpegLsFrame(frame, attrs);
  }
  if (JPEG_2000.test(uid)) {
    checkCodestream(frame, 'jpeg2000', attrs);
    return decodeJ2kFrame(frame, attrs);
  }
  const single: PixelModule = { ...attrs, numberOfFrames: 1 };
  if (uid === ENCAPSULATED_UNCOMPRESSED) return decodeNativeFrame(frame, single, 0, { bigEndian: false, wordSwapped: false });
  if (uid === DEFLATED_IMAGE_FRAME) {
    const expected = Math.ceil(storedSamplesPerFrame(attrs) * (attrs.bitsAllocated / 8));
    let inflated: Uint8Array;
    try {
      inflated = inflateRawSync(frame, { maxOutputLength: Math.max(expected + 1, 64) });
    } catch (error) {
      throw new CodecError(`the deflated frame does not inflate: ${error instanceof Error ? error.message : String(error)}`);
    }
    return decodeNativeFrame(inflated, single, 0, { bigEndian: false, wordSwapped: false });
  }
  throw new PixelDecodeError('unsupported_transfer_syntax', `transfer syntax ${uid} (${dataset.transferSyntax.name}) cannot be decoded on the server`);
}

function decodeNative(dataset: DicomDataset, attrs: PixelModule, frameIndex: number, allocate?: Allocate): PixelArray {
  const pixelData = dataset.pixelData!;
  const end = pixelData.offset + (pixelData.length ?? Number.POSITIVE_INFINITY);
  if (end > dataset.datasetBytes.length) throw new PixelDecodeError('pixel_data_not_loaded', 'the pixel data value is not in the parsed bytes');
  const value = dataset.datasetBytes.subarray(pixelData.offset, end);
  const bigEndian = !dataset.littleEndian;
  return decodeNativeFrame(value, attrs, frameIndex, { bigEndian, wordSwapped: bigEndian && pixelData.vr === 'OW' && attrs.bitsAllocated <= 8 }, allocate);
}

/** Puts codec samples into the array type pydicom uses for these attributes (values wrap as a C cast would). */
function toPixelArray(output: CodecOutput, attrs: PixelModule): PixelArray {
  const expected = samplesPerFrame(attrs);
  if (output.samples.length !== expected) throw new CodecError(`the codec produced ${output.samples.length} samples, ${expected} expected`);
  const data = allocatePixels(attrs, 0);
  const samples = output.samples;
  // Codec output is a fresh array this frame owns: when only signedness differs, viewing the
  // same bytes as the other type is what the C-style cast of set() would compute, without a copy.
  if (samples.BYTES_PER_ELEMENT === data.BYTES_PER_ELEMENT && !(data instanceof Float32Array) && !(data instanceof Float64Array)) {
    const Ctor = data.constructor as new (buffer: ArrayBufferLike, byteOffset: number, length: number) => PixelArray;
    return new Ctor(samples.buffer, samples.byteOffset, samples.length);
  }
  const out = allocatePixels(attrs, expected);
  out.set(samples);
  return out;
}

/**
 * Decodes frame `frameIndex` (0-based) of `dataset`, which must have been parsed from the whole
 * file (`{ stopAtPixelData: false }` also reads the elements after the pixel data). Throws
 * PixelDecodeError, never anything else.
 */
export async function decodeFrame(dataset: DicomDataset, frameIndex: number, options: DecodeOptions = {}): Promise<DecodedFrame> {
  const pixelData = dataset.pixelData;
  if (!pixelData) throw new PixelDecodeError('no_pixel_data', 'the dataset has no pixel data');
  // A prefix parse leaves the value incomplete; stopAtPixelData alone does not, when the bytes
  // handed to the parser held the whole value.
  if (!pixelData.complete || (pixelData.encapsulated && !pixelData.fragments)) {
    throw new PixelDecodeError('pixel_data_not_loaded', 'the pixel data is not in the parsed bytes: parse the whole file');
  }
  const attrs = readPixelModule(dataset);
  if (!Number.isInteger(frameIndex) || frameIndex < 0 || frameIndex >= attrs.numberOfFrames) {
    throw new PixelDecodeError('frame_out_of_range', `frame index ${frameIndex} is outside 0..${attrs.numberOfFrames - 1}`);
  }
  const limit = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
  const size = decodedFrameBytes(attrs);
  if (size > limit) throw new PixelDecodeError('frame_too_large', `a decoded frame would take ${size} bytes, more than the limit of ${limit}`);

  const uid = dataset.transferSyntax.uid;
  let photometricInterpretation = attrs.photometricInterpretation;
  let data: PixelArray;
  try {
    if (!pixelData.encapsulated) {
      if (dataset.transferSyntax.encapsulated) throw corrupt(`transfer syntax ${uid} needs encapsulated pixel data, but the value has a defined length`);
      data = decodeNative(dataset, attrs, frameIndex, options.allocate);
      if (photometricInterpretation === 'YBR_FULL_422' && attrs.samplesPerPixel === 3) photometricInterpretation = 'YBR_FULL';
    } else {
      const output = await decodeEncapsulated(dataset, attrs, frameIndex, uid, options.allocate);
      if ('samples' in output) {
        data = toPixelArray(output, attrs);
        photometricInterpretation = output.photometricInterpretation ?? photometricInterpretation;
      } else {
        data = output;
      }
    }
  } catch (error) {
    if (error instanceof PixelDecodeError) throw error;
    if (error instanceof CodecError) {
      if (error.unsupported) throw new PixelDecodeError('unsupported_pixel_format', `frame ${frameIndex + 1}: ${error.message}`, { cause: error });
      throw corrupt(`frame ${frameIndex + 1}: ${error.message}`, error);
    }
    if (error instanceof CodestreamError) throw corrupt(`frame ${frameIndex + 1}: ${error.message}`, error);
    // RangeError from a typed array, a WASM trap or the like: still the data's fault, not a bug
    // worth crashing a request over.
    throw corrupt(`frame ${frameIndex + 1} could not be decoded: ${error instanceof Error ? error.message : String(error)}`, error);
  }
  signExtend(data, attrs);
  return {
    rows: attrs.rows,
    columns: attrs.columns,
    samplesPerPixel: attrs.samplesPerPixel,
    photometricInterpretation,
    bitsAllocated: attrs.bitsAllocated,
    bitsStored: attrs.bitsStored,
    pixelRepresentation: attrs.pixelRepresentation,
    data,
  };
}
