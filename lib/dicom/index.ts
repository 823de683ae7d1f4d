/**
 * Pure DICOM parsing: no I/O beyond the bytes callers hand in, no DOM, Node built-ins only.
 *
 *   sniffDicom(head)               is this DICOM? (preamble or a plausible first element)
 *   parseDicom(bytes, options)     the dataset: elements, sequences, pixel data position
 *   readDicomMetadata(bytes, opts) parse + extract the catalogue attributes
 */
import { extractMetadata, type DicomMetadata } from './metadata';
import { parseDicom } from './parser';
import type { ParseOptions } from './types';

export { DicomParseError, isDicomParseError, type DicomErrorCode } from './errors';
export { sniffDicom, type SniffResult } from './sniff';
export { deflatedDatasetOffset, parseDicom, parseDecimalString } from './parser';
export { extractMetadata, type DicomMetadata } from './metadata';
export {
  formatValue,
  getElement,
  getElementBytes,
  getEncapsulatedFrames,
  getFragmentBytes,
  getItems,
  getMetaBytes,
  getNumber,
  getNumbers,
  getString,
  getStrings,
  listElements,
  type ElementRow,
} from './dataset';
export { Tags, formatTag, lookupTag, makeTag, parseTag, tagHex, tagKeyword, tagOfKeyword, type DictionaryEntry, type Tag } from './tags';
export { lookupTransferSyntax, type TransferSyntax } from './transfer-syntax';
export { CodestreamError, codestreamFamily, readCodestreamHeader, unwrapJp2, type CodestreamFamily, type CodestreamHeader } from './codestream';
export { createCharsetDecoder, type CharsetDecoder } from './charset';
export type { Vr } from './vr';
export type { DicomDataset, DicomElement, DicomItem, DicomValue, ParseOptions, PixelDataFragment, PixelDataInfo } from './types';

/** Parses `bytes` (a whole file or its first part, see ParseOptions) and extracts its metadata. */
export function readDicomMetadata(bytes: Uint8Array, options?: ParseOptions): DicomMetadata {
  return extractMetadata(parseDicom(bytes, options));
}
export { toExplicitLittleEndian } from './explicit-le';
