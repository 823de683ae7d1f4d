import { randomUUID } from 'node:crypto';
import { getDb } from '@/db';
import { insertUpload } from '@/db/queries/uploads';
import { ingestFile, type IngestResult } from '@/lib/ingest/ingest';
import type { UploadMetadata } from '@/lib/ingest/metadata';

/** Ingests a file the way a finished upload is ingested, without going through tus. */
export async function ingestForTest(file: string, metadata: UploadMetadata = {}, userId: string | null = null): Promise<IngestResult> {
  const id = randomUUID();
  await insertUpload(await getDb(), { id, userId, filename: file.split('/').pop() ?? null, metadata });
  return ingestFile(file, { uploadId: id, userId, metadata, name: file.split('/').pop() ?? null });
}
