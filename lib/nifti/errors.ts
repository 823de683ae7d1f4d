/**
 * Stable, machine-readable reasons a byte stream is not an acceptable NIfTI file. Callers map
 * these to user-facing messages and audit records, so existing codes must never be renamed.
 */
export const NIFTI_ERROR_CODES = [
  'empty_file',
  'not_nifti',
  'truncated',
  'invalid_header',
  'unsupported_datatype',
  'dimensions_too_large',
  'inflate_limit',
  'corrupt_gzip',
  'detached_header',
  /** More bytes after the image than `maxTrailingBytes`: damage, or a decompression bomb behind a small header. */
  'trailing_data',
] as const;

export type NiftiErrorCode = (typeof NIFTI_ERROR_CODES)[number];

export class NiftiParseError extends Error {
  readonly code: NiftiErrorCode;

  constructor(code: NiftiErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'NiftiParseError';
    this.code = code;
  }
}
