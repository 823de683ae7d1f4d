import { open } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { DicomParseError, extractMetadata, getString, makeTag, parseDicom, type DicomMetadata } from '@/lib/dicom';
import { inspectNifti, type NiftiInspection } from '@/lib/nifti';
import { findDicomProblem, type DicomProblem } from './validate-dicom';

/**
 * The parsing half of ingest: what runs on an ingest worker (lib/ingest/parse-pool.ts), kept free
 * of the database, the environment and Next so that a thread can load it alone. Failures are
 * thrown as DicomParseError / NiftiParseError and mapped to 4xx answers by the caller.
 */
export type ParseTask =
  | { kind: 'dicom-header'; path: string; size: number; maxInflatedBytes: number }
  | { kind: 'nifti'; path: string; maxInflatedBytes: number };

export type DicomHeader = DicomMetadata & { mediaStorageSopClassUid: string | null; problem: DicomProblem | null };
export type ParseResult = DicomHeader | NiftiInspection;

const HEADER_PREFIX_BYTES = 16 * 1024 * 1024;
const MAX_HEADER_PREFIX_BYTES = 256 * 1024 * 1024;
const MEDIA_STORAGE_SOP_CLASS = makeTag(0x0002, 0x0002);

async function readHead(file: string, length: number): Promise<Uint8Array> {
  const handle = await open(file, 'r');
  try {
    const buffer = Buffer.alloc(length);
    const { bytesRead } = await handle.read(buffer, 0, length, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/** Parses a DICOM file's header (up to the pixel data, read with a growing prefix) and checks it. */
export async function readDicomHeader(file: string, size: number, maxInflatedBytes: number): Promise<DicomHeader> {
  let prefix = Math.min(size, HEADER_PREFIX_BYTES);
  for (;;) {
    const bytes = await readHead(file, prefix);
    try {
      const dataset = parseDicom(bytes, { fileSize: size, maxInflatedBytes });
      const mediaStorageSopClassUid = (dataset.meta && getString(dataset.meta, MEDIA_STORAGE_SOP_CLASS)) || null;
      const meta = extractMetadata(dataset);
      return { ...meta, mediaStorageSopClassUid, problem: findDicomProblem(dataset, meta) };
    } catch (error) {
      if (error instanceof DicomParseError && error.code === 'header_too_large' && prefix < Math.min(size, MAX_HEADER_PREFIX_BYTES)) {
        prefix = Math.min(size, MAX_HEADER_PREFIX_BYTES, prefix * 4);
        continue;
      }
      throw error;
    }
  }
}

export function inspectNiftiFile(file: string, maxInflatedBytes: number): Promise<NiftiInspection> {
  return inspectNifti(createReadStream(file, { highWaterMark: 1024 * 1024 }), { maxInflatedBytes });
}

export function runParseTask(task: ParseTask): Promise<ParseResult> {
  switch (task.kind) {
    case 'dicom-header':
      return readDicomHeader(task.path, task.size, task.maxInflatedBytes);
    case 'nifti':
      return inspectNiftiFile(task.path, task.maxInflatedBytes);
  }
}
