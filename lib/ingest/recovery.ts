import { existsSync } from 'node:fs';
import path from 'node:path';
import { eq } from 'drizzle-orm';
import { getDb } from '@/db';
import { updateUpload } from '@/db/queries/uploads';
import { uploads } from '@/db/schema';
import { ApiError } from '@/lib/api/errors';
import { uploadsDir } from '@/lib/storage';
import { cleanUpExpiredUploads } from './tus-server';
import { finishUpload } from './uploads';

/**
 * Uploads whose last byte arrived but whose ingest was cut short by a crash or restart are
 * ingested again at start-up (registration is idempotent per SOP instance); those whose file is
 * gone are marked failed so their status does not say "processing" forever.
 */
export async function recoverInterruptedUploads(): Promise<{ resumed: number; failed: number }> {
  const db = await getDb();
  const stuck = await db.select().from(uploads).where(eq(uploads.status, 'processing'));
  let resumed = 0;
  let failed = 0;
  for (const upload of stuck) {
    const file = path.join(uploadsDir(), upload.id);
    if (!existsSync(file)) {
      await updateUpload(db, upload.id, { status: 'failed', errorCode: 'upload_incomplete', errorMessage: 'Processing was interrupted and the file is gone; upload it again' });
      failed++;
      continue;
    }
    try {
      await finishUpload(upload.id, file, { userId: upload.userId, tokenId: upload.tokenId, role: 'system' });
      resumed++;
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      failed++;
    }
  }
  return { resumed, failed };
}

const HOUR = 60 * 60 * 1000;

/** Background upkeep for uploads; timers never keep the process alive. */
export function startUploadMaintenance(): void {
  recoverInterruptedUploads()
    .then((r) => (r.resumed || r.failed ? console.log(`[upload] recovered interrupted uploads: ${r.resumed} ingested, ${r.failed} failed`) : undefined))
    .catch((error) => console.error('[upload] recovery failed', error));
  setInterval(() => {
    cleanUpExpiredUploads().catch((error) => console.error('[upload] expiry cleanup failed', error));
  }, HOUR).unref();
}
