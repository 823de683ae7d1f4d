/**
 * Stable, machine-readable reasons a byte stream could not be read as DICOM. Callers branch on
 * these (e.g. retry with more bytes on `header_too_large`), so never rename one.
 */
export type DicomErrorCode =
  /** Zero bytes. */
  | 'empty_file'
  /** Neither 'DICM' at offset 128 nor a plausible first data element. */
  | 'not_dicom'
  /** The file itself ends before a header, a value or the declared pixel data is complete. */
  | 'truncated'
  /**
   * The bytes handed in end inside the header, but `fileSize` says the file goes on: retry with a
   * longer prefix.
   */
  | 'header_too_large'
  /** The file meta information group (0002) is malformed. */
  | 'invalid_meta'
  /** There is a file meta group but no Transfer Syntax UID in it. */
  | 'missing_transfer_syntax'
  | 'unsupported_transfer_syntax'
  /** A data element or item header that cannot be right (unknown VR, item where none belongs, lengths that overrun their container). */
  | 'invalid_element'
  /** Sequences nested deeper than `maxDepth`. */
  | 'too_deep'
  /** More data elements than `maxElements`: a hostile file would otherwise exhaust memory. */
  | 'too_many_elements'
  /** A deflated dataset inflates to more than `maxInflatedBytes`. */
  | 'inflate_limit'
  /** A deflated dataset is not a valid raw deflate stream. */
  | 'inflate_failed';

export class DicomParseError extends Error {
  constructor(
    readonly code: DicomErrorCode,
    message: string,
    /** Byte offset the problem was found at, when there is one (file offset, or inflated-dataset offset for deflate). */
    readonly offset?: number,
  ) {
    super(message);
    this.name = 'DicomParseError';
  }
}

export function isDicomParseError(error: unknown): error is DicomParseError {
  return error instanceof DicomParseError;
}
