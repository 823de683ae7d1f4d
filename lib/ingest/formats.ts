import { sniffDicom } from '@/lib/dicom';
import { sniffNifti } from '@/lib/nifti';

export type FormatId = 'dicom' | 'nifti' | 'zip' | 'gzip' | 'dicom-no-preamble';

interface FormatRule {
  id: FormatId;
  detect(head: Uint8Array): boolean;
}

const startsWith = (head: Uint8Array, bytes: number[], at = 0) => bytes.every((b, i) => head[at + i] === b);

/**
 * The one place files are recognised, by content only (never by name or declared type), most
 * specific signature first: a heuristic must never claim what a magic number identifies.
 */
export const FORMAT_REGISTRY: readonly FormatRule[] = [
  { id: 'dicom', detect: (head) => startsWith(head, [0x44, 0x49, 0x43, 0x4d], 128) },
  { id: 'nifti', detect: (head) => sniffNifti(head).nifti },
  // Local file header, or the end-of-central-directory record that is all an empty zip has.
  { id: 'zip', detect: (head) => startsWith(head, [0x50, 0x4b, 0x03, 0x04]) || startsWith(head, [0x50, 0x4b, 0x05, 0x06]) },
  // Only NIfTI is accepted gzip-compressed; the NIfTI reader proves it while inflating.
  { id: 'gzip', detect: (head) => startsWith(head, [0x1f, 0x8b]) },
  { id: 'dicom-no-preamble', detect: (head) => sniffDicom(head).dicom },
];

/** Bytes to read from the start of a file before recognising it. */
export const SNIFF_BYTES = 4096;

export function recogniseFormat(head: Uint8Array): FormatId | null {
  return FORMAT_REGISTRY.find((rule) => rule.detect(head))?.id ?? null;
}
