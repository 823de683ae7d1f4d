import type { Allocate } from '../scratch';
import { CodecError } from './errors';
import { convertsColour, decodeJpeg, scanJpegHeader, type ColourHandling } from './jpeg';
import { interleavePlanes } from './native';
import type { PixelModule } from './pixel-module';
import { withDecoder, type FrameInfo } from './wasm';

/** Samples of one frame, interleaved, as the codec gave them (not yet in the DICOM type). */
export interface CodecOutput {
  samples: Uint8Array | Int8Array | Uint16Array | Int16Array;
  /** Photometric Interpretation of `samples` when the codec changed it (colour transform). */
  photometricInterpretation?: string;
}

const littleEndianHost = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Copies a codec's output buffer (a view into WASM memory, gone after delete) into JS memory. */
function copySamples(buffer: Uint8Array, bytesPerSample: number, signed: boolean): CodecOutput['samples'] {
  const copy = buffer.slice();
  if (bytesPerSample === 1) return signed ? new Int8Array(copy.buffer) : copy;
  if (copy.length % 2 !== 0) throw new CodecError('codec output has an odd number of bytes for 16-bit samples');
  if (littleEndianHost) return signed ? new Int16Array(copy.buffer) : new Uint16Array(copy.buffer);
  const view = new DataView(copy.buffer);
  const out = signed ? new Int16Array(copy.length / 2) : new Uint16Array(copy.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = signed ? view.getInt16(i * 2, true) : view.getUint16(i * 2, true);
  return out;
}

function checkSize(info: FrameInfo, attrs: PixelModule, what: string): void {
  if (info.width !== attrs.columns || info.height !== attrs.rows || info.componentCount !== attrs.samplesPerPixel) {
    throw new CodecError(
      `${what} image is ${info.width} x ${info.height} with ${info.componentCount} component(s); the DICOM header says ${attrs.columns} x ${attrs.rows} with ${attrs.samplesPerPixel}`,
    );
  }
  if (info.bitsPerSample > 16 || info.bitsPerSample < 1) throw new CodecError(`${what} precision of ${info.bitsPerSample} bits is not supported`, true);
  if (info.bitsPerSample > attrs.bitsAllocated) throw new CodecError(`${what} precision of ${info.bitsPerSample} bits exceeds Bits Allocated ${attrs.bitsAllocated}`);
}

/**
 * Whether to turn YCbCr into RGB. DICOM's Photometric Interpretation says what the components
 * are (PS3.5 8.2.1), so it decides, not libjpeg's JFIF/Adobe/component-id guess: a baseline
 * frame labelled RGB without JFIF or Adobe markers holds RGB (pydicom/GDCM agree).
 */
export function colourHandling(photometric: string): ColourHandling {
  if (photometric === 'YBR_FULL' || photometric === 'YBR_FULL_422') return 'convert';
  if (photometric === 'RGB') return 'auto';
  return 'keep';
}

/** JPEG processes 1, 2/4 and 14 (.50, .51, .57, .70 and the retired ones that share their SOF). */
export async function decodeJpegFrame(frame: Uint8Array, attrs: PixelModule, allocate?: Allocate): Promise<CodecOutput> {
  const marker = scanJpegHeader(frame).sof;
  if (marker === null) throw new CodecError('JPEG frame has no frame header (SOF) before its first scan');
  if (marker === 0xf7) throw new CodecError('the frame is JPEG-LS, not JPEG');
  const expect = { width: attrs.columns, height: attrs.rows, components: attrs.samplesPerPixel };
  if (marker === 0xc0 || marker === 0xc1 || marker === 0xc3) {
    try {
      const image = decodeJpeg(frame, { colour: colourHandling(attrs.photometricInterpretation), expect, allocate });
      if (image.precision > attrs.bitsAllocated) throw new CodecError(`JPEG precision of ${image.precision} bits exceeds Bits Allocated ${attrs.bitsAllocated}`);
      return { samples: image.data, photometricInterpretation: image.converted ? 'RGB' : undefined };
    } catch (error) {
      if (!(error instanceof CodecError && error.unsupported)) throw error;
      // An 8-bit stream using a feature this decoder lacks (e.g. DNL): libjpeg-turbo may manage.
    }
  }
  return decodeWithLibjpegTurbo(frame, attrs);
}

/**
 * Whether a DCT frame holds something other than YCbCr in three components (RGB labelled RGB,
 * without JFIF or an Adobe transform): decoders that always convert three components, as dwv's
 * does, get such frames wrong.
 */
export function jpegFrameIsNotYcc(frame: Uint8Array, photometric: string): boolean {
  const info = scanJpegHeader(frame);
  if (info.sof === null || info.sof === 0xc3 || info.sof === 0xf7 || info.components !== 3) return false;
  return !convertsColour(colourHandling(photometric), { ...info, lossless: false });
}

/** Progressive, arithmetic-coded and other 8-bit JPEG processes. */
async function decodeWithLibjpegTurbo(frame: Uint8Array, attrs: PixelModule): Promise<CodecOutput> {
  return withDecoder('libjpeg-turbo', frame, (decoder) => {
    const info = decoder.getFrameInfo();
    checkSize(info, attrs, 'JPEG');
    if (info.bitsPerSample !== 8) throw new CodecError(`JPEG precision of ${info.bitsPerSample} bits is only supported for the sequential processes`, true);
    const samples = copySamples(decoder.getDecodedBuffer(), 1, false);
    // libjpeg-turbo always hands out RGB for three components.
    return { samples, photometricInterpretation: info.componentCount === 3 ? 'RGB' : undefined };
  });
}

/** The stream ends with EOI, ignoring the zero bytes that pad a fragment to even length. */
function endsWithEoi(frame: Uint8Array): boolean {
  let end = frame.length;
  while (end > 0 && frame[end - 1] === 0) end--;
  return end >= 4 && frame[end - 2] === 0xff && frame[end - 1] === 0xd9;
}

/** JPEG-LS lossless and near-lossless (.80, .81) through CharLS. */
export async function decodeJpegLsFrame(frame: Uint8Array, attrs: PixelModule): Promise<CodecOutput> {
  // CharLS 2 (this WASM build) can spin for seconds on a stream that stops inside the scan
  // data; a complete JPEG-LS interchange stream always ends with EOI, so a missing one is
  // refused up front.
  if (!endsWithEoi(frame)) throw new CodecError('JPEG-LS frame does not end with an EOI marker (truncated)');
  return withDecoder('charls', frame, (decoder) => {
    const info = decoder.getFrameInfo();
    checkSize(info, attrs, 'JPEG-LS');
    const bytesPerSample = info.bitsPerSample > 8 ? 2 : 1;
    const buffer = decoder.getDecodedBuffer();
    const expected = attrs.rows * attrs.columns * attrs.samplesPerPixel * bytesPerSample;
    if (buffer.length !== expected) throw new CodecError(`JPEG-LS decoder produced ${buffer.length} bytes, ${expected} expected`);
    let samples = copySamples(buffer, bytesPerSample, false);
    // CharLS keeps interleave mode "none" as planes; line and sample modes come out by pixel.
    if (attrs.samplesPerPixel > 1 && decoder.getInterleaveMode?.() === 0) {
      const planar = samples;
      samples = interleavePlanes(planar, attrs.rows * attrs.columns, attrs.samplesPerPixel, (n) => (planar instanceof Uint8Array ? new Uint8Array(n) : new Uint16Array(n)) as typeof planar);
    }
    return { samples };
  });
}

/** JPEG 2000 (.90 to .93), raw codestream or JP2 file, through OpenJPEG. */
export async function decodeJ2kFrame(frame: Uint8Array, attrs: PixelModule): Promise<CodecOutput> {
  return withDecoder('openjpeg', frame, (decoder, messages) => {
    const info = decoder.getFrameInfo();
    if (info.width === 0 || info.height === 0) {
      const reason = messages.filter((line) => line.includes('[ERROR]')).join('; ') || 'the decoder produced no image';
      throw new CodecError(`JPEG 2000: ${reason}`);
    }
    checkSize(info, attrs, 'JPEG 2000');
    const bytesPerSample = info.bitsPerSample > 8 ? 2 : 1;
    const buffer = decoder.getDecodedBuffer();
    const expected = attrs.rows * attrs.columns * attrs.samplesPerPixel * bytesPerSample;
    if (buffer.length !== expected) throw new CodecError(`JPEG 2000 decoder produced ${buffer.length} bytes, ${expected} expected`);
    const samples = copySamples(buffer, bytesPerSample, info.isSigned === true);
    // OpenJPEG undoes the multiple-component transform the codestream declares, which DICOM
    // signals with YBR_ICT / YBR_RCT: the samples are then RGB.
    const photometric = attrs.photometricInterpretation;
    return { samples, photometricInterpretation: photometric === 'YBR_ICT' || photometric === 'YBR_RCT' ? 'RGB' : undefined };
  });
}
