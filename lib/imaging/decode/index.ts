/**
 * Server-side decoding of DICOM pixel data: one frame at a time, every transfer syntax of the
 * corpus, output equal to pydicom 2.3.1's `pixel_array` for that frame (see DecodedFrame).
 *
 *   decodeFrame(dataset, i)          frame i (0-based) of a dataset parsed from the whole file
 *   canBrowserDecode(uid)            does the viewer (dwv 0.36) decode this transfer syntax correctly?
 *   encodeForBrowser(fileBytes)      the file as is, with a Part 10 header added, or a copy with
 *                                    the fixes dwv needs (decoded, JP2 unwrapped, 32-bit narrowed,
 *                                    odd colour widened, SEG as an image): whatever dwv can show
 *
 * Server only: it uses node:zlib and loads WASM codecs from node_modules.
 */
export { canBrowserDecode, canServerDecode, decodeFrame, DEFAULT_MAX_FRAME_BYTES, type DecodeOptions } from './decode-frame';
export { PixelDecodeError, isPixelDecodeError, type PixelDecodeErrorCode } from './errors';
export {
  encodeForBrowser,
  pixelFixes,
  transcodeToExplicitLittleEndian,
  EXPLICIT_VR_LITTLE_ENDIAN,
  type BrowserEncoding,
  type BrowserFix,
  type BrowserOptions,
  type CatalogueUids,
} from './transcode';
export { preloadCodec, type CodecName } from './wasm';
