import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { getDb } from '@/db';
import { insertUpload } from '@/db/queries/uploads';
import { ingestFile, type IngestResult } from '@/lib/ingest/ingest';
import type { UploadMetadata } from '@/lib/ingest/metadata';
import { studyFixture } from './study-fixture';

/** Ingests a file the way a finished upload is ingested, without going through tus. */
export async function ingestForTest(file: string, metadata: UploadMetadata = {}, userId: string | null = null): Promise<IngestResult> {
  const id = randomUUID();
  await insertUpload(await getDb(), { id, userId, filename: file.split('/').pop() ?? null, metadata });
  return ingestFile(file, { uploadId: id, userId, metadata, name: file.split('/').pop() ?? null });
}

/** Ingests a corpus DICOM fixture as a new patient's new study (see studyFixture). */
export async function ingestStudyFixture(
  id: string,
  change: Parameters<typeof studyFixture>[1] = {},
  userId: string | null = null,
): Promise<{ studyId: string; instanceId: string; patientName: string; patientId: string }> {
  const fixture = studyFixture(id, change);
  const file = path.join(process.env.DATA_DIR ?? os.tmpdir(), `${randomUUID()}-${id}.dcm`);
  await writeFile(file, fixture.data);
  const item = (await ingestForTest(file, {}, userId)).items[0]!;
  return { studyId: item.studyId, instanceId: item.instanceId, patientName: fixture.patientName, patientId: fixture.patientId };
}
