import { z } from 'zod';

const UID = /^[0-9]+(\.[0-9]+)*$/;

// NUL and other control characters have no place in names and break jsonb and text columns.
const printable = (max: number) => z.string().max(max).transform((v) => v.replace(/[\u0000-\u001f\u007f]/g, ''));

/** What a client may say about an upload (tus Upload-Metadata). Everything else is ignored. */
export const uploadMetadataSchema = z.object({
  filename: printable(1024).optional(),
  filetype: printable(255).optional(),
  relativePath: printable(4096).optional(),
  sha256: z
    .string()
    .regex(/^[0-9a-fA-F]{64}$/, 'must be 64 hex digits')
    .transform((v) => v.toLowerCase())
    .optional(),
  // For NIfTI volumes, which carry no patient or study of their own.
  patientName: printable(256).pipe(z.string().trim()).optional(),
  patientId: printable(64).pipe(z.string().trim()).optional(),
  modality: z.string().trim().regex(/^[A-Z]{1,16}$/, 'must be a DICOM modality code such as MR or CT').optional(),
  studyDescription: printable(256).pipe(z.string().trim()).optional(),
  studyInstanceUid: z.string().trim().max(64).regex(UID, 'must be a DICOM UID').optional(),
});
export type UploadMetadata = z.output<typeof uploadMetadataSchema>;

/** tus sends `key` without a value as null; treat that as absent. */
export function parseUploadMetadata(raw: Record<string, string | null | undefined> | undefined): UploadMetadata {
  const cleaned = Object.fromEntries(Object.entries(raw ?? {}).filter(([, v]) => v !== null && v !== undefined && v !== ''));
  return uploadMetadataSchema.parse(cleaned);
}

/** A file name fit for display: last path segment, no control characters, bounded. Never a path. */
export function displayName(name: string | undefined): string | null {
  if (!name) return null;
  const last = name.split(/[\\/]/).filter(Boolean).pop() ?? '';
  const clean = last.replace(/[\u0000-\u001f\u007f]/g, '').trim().slice(0, 255);
  return clean && clean !== '.' && clean !== '..' ? clean : null;
}

/**
 * Text that came from a file or a client (an entry name inside a parser's message, say), fit to
 * be stored and shown: control characters, which PostgreSQL refuses (NUL) or which forge log
 * lines, are replaced by U+FFFD.
 */
export function printableText(text: string, max = 2000): string {
  return text.replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, '\ufffd').slice(0, max);
}
