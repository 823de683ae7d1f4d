import { createReadStream } from 'node:fs';
import { createInflateRaw } from 'node:zlib';
import { DicomParseError, deflatedDatasetOffset, extractMetadata, getString, makeTag, parseDicom, type DicomMetadata } from '@/lib/dicom';
import { inspectNifti, type NiftiInspection } from '@/lib/nifti';
import { findDicomProblem, type DicomProblem } from './validate-dicom';
import { readFileHead } from './file-head';

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

/**
 * Inflates a deflated dataset as a stream: keeps its first `keep` bytes, counts the rest, and
 * stops at `maxInflatedBytes`. A deflate bomb then costs time bounded by the limit and no memory.
 */
async function inflateDeflatedDataset(file: string, offset: number, keep: number, maxInflatedBytes: number): Promise<{ bytes: Uint8Array; length: number }> {
  const kept = Buffer.alloc(keep);
  let length = 0;
  const inflater = createInflateRaw({ chunkSize: 256 * 1024 });
  const source = createReadStream(file, { start: offset, highWaterMark: 1024 * 1024 });
  source.on('error', (error) => inflater.destroy(error));
  source.pipe(inflater);
  try {
    for await (const chunk of inflater as AsyncIterable<Buffer>) {
      if (length < keep) chunk.copy(kept, length, 0, Math.min(chunk.length, keep - length));
      length += chunk.length;
      if (length > maxInflatedBytes) throw new DicomParseError('inflate_limit', `the deflated dataset inflates to more than ${maxInflatedBytes} bytes`, offset);
    }
  } catch (error) {
    if (error instanceof DicomParseError) throw error;
    const code = (error as { code?: unknown }).code;
    if (code === 'Z_BUF_ERROR') throw new DicomParseError('truncated', 'the deflated dataset ends before its deflate stream does', offset);
    if (typeof code === 'string' && code.startsWith('Z_')) throw new DicomParseError('inflate_failed', `the deflated dataset is not a valid deflate stream: ${(error as Error).message}`, offset);
    throw error;
  } finally {
    source.destroy();
    inflater.destroy();
  }
  return { bytes: kept.subarray(0, Math.min(keep, length)), length };
}

/** Parses a DICOM file's header (up to the pixel data, read with a growing prefix) and checks it. */
export async function readDicomHeader(file: string, size: number, maxInflatedBytes: number): Promise<DicomHeader> {
  let prefix = Math.min(size, HEADER_PREFIX_BYTES);
  let inflatedPrefix = HEADER_PREFIX_BYTES;
  for (;;) {
    const bytes = await readFileHead(file, prefix);
    const deflatedAt = deflatedDatasetOffset(bytes, size);
    try {
      const inflated = deflatedAt === null ? undefined : await inflateDeflatedDataset(file, deflatedAt, inflatedPrefix, maxInflatedBytes);
      const dataset = parseDicom(bytes, { fileSize: size, maxInflatedBytes, inflated });
      const mediaStorageSopClassUid = (dataset.meta && getString(dataset.meta, MEDIA_STORAGE_SOP_CLASS)) || null;
      const meta = extractMetadata(dataset);
      return { ...meta, mediaStorageSopClassUid, problem: findDicomProblem(dataset, meta) };
    } catch (error) {
      if (error instanceof DicomParseError && error.code === 'header_too_large') {
        // The file prefix, or for a deflated file the inflated prefix, was too short.
        if (deflatedAt === null && prefix < Math.min(size, MAX_HEADER_PREFIX_BYTES)) {
          prefix = Math.min(size, MAX_HEADER_PREFIX_BYTES, prefix * 4);
          continue;
        }
        if (deflatedAt !== null && inflatedPrefix < MAX_HEADER_PREFIX_BYTES) {
          inflatedPrefix = Math.min(MAX_HEADER_PREFIX_BYTES, inflatedPrefix * 4);
          continue;
        }
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
