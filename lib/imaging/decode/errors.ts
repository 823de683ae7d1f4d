/**
 * Stable reasons a frame could not be decoded. Callers map them to HTTP answers and messages, so
 * never rename one.
 */
export type PixelDecodeErrorCode =
  /** The dataset has no Pixel Data, Float Pixel Data or Double Float Pixel Data. */
  | 'no_pixel_data'
  /**
   * The pixel data is not in the bytes that were parsed: the dataset came from a prefix, or was
   * parsed with `stopAtPixelData` (parse with `{ stopAtPixelData: false }` and the whole file).
   */
  | 'pixel_data_not_loaded'
  /** Rows, Columns, Bits Allocated, Number of Frames… are missing, contradictory or impossible. */
  | 'invalid_pixel_attributes'
  /** A valid combination that no decoder here handles (e.g. Bits Allocated 64 integers). */
  | 'unsupported_pixel_format'
  /** No decoder for the transfer syntax (video, JPEG XL, HTJ2K, JPIP…). */
  | 'unsupported_transfer_syntax'
  | 'frame_out_of_range'
  /** The decoded frame would be larger than the configured limit. */
  | 'frame_too_large'
  /** Too short, damaged, or disagrees with the DICOM header (size, components, precision). */
  | 'corrupt_pixel_data'
  /** A WebAssembly codec could not be loaded. */
  | 'decoder_unavailable';

export class PixelDecodeError extends Error {
  constructor(
    readonly code: PixelDecodeErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'PixelDecodeError';
  }
}

export function isPixelDecodeError(error: unknown): error is PixelDecodeError {
  return error instanceof PixelDecodeError;
}

/**
 * Raised inside the codecs for damaged input; decodeFrame turns it into `corrupt_pixel_data`
 * with the frame number added. `unsupported` marks valid streams a codec does not implement, so
 * that a fallback codec can be tried.
 */
export class CodecError extends Error {
  constructor(
    message: string,
    readonly unsupported = false,
  ) {
    super(message);
    this.name = 'CodecError';
  }
}
