import { existsSync } from 'node:fs';
import { readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { getDb } from '@/db';
import { referencedStorageKeys } from '@/db/queries/instances';
import { existingUploadIds, findUpload, listUploadsByStatus, updateUpload } from '@/db/queries/uploads';
import type { Upload } from '@/db/schema';
import { ApiError, isTransientFailure } from '@/lib/api/errors';
import { isStorageKey, objectPath, objectsRoot, pendingDir, removeObject, settleObject, uploadsDir } from '@/lib/storage';
import { cleanUpExpiredUploads } from './tus-server';
import { isLockedHere, releaseDeadLocalLeases, tryLockUpload } from './upload-lock';
import { finishUpload } from './uploads';

export interface ReconcileOptions {
  /** Rows and files untouched for less than this are in use, not orphans; default 60 s. */
  idleMs?: number;
  /** Pending objects younger than this may still be committing; default 10 min. */
  pendingMs?: number;
}

export interface ReconcileReport {
  /** Uploads whose bytes had all arrived, ingested now. */
  ingested: number;
  /** Uploads refused on ingest, or whose file is gone, now `failed`. */
  failed: number;
  /** Left for the next sweep: another writer holds them, or the failure was transient. */
  deferred: number;
  /** tus files (and info files) without an upload row, or of uploads already finished. */
  orphanFiles: number;
  /** Stored objects of ingests cut short before their catalogue rows were committed. */
  orphanObjects: number;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const SYSTEM = (upload: Upload) => ({ userId: upload.userId, tokenId: upload.tokenId, role: 'system' as const });

async function ageMs(file: string): Promise<number | null> {
  try {
    return Date.now() - (await stat(file)).mtimeMs;
  } catch {
    return null;
  }
}

async function fileSize(file: string): Promise<number | null> {
  try {
    return (await stat(file)).size;
  } catch {
    return null;
  }
}

/** Ingests an upload whose bytes are all here, under its write lock; what happened, for the report. */
async function ingestComplete(upload: Upload, file: string): Promise<'ingested' | 'failed' | 'deferred'> {
  const lock = await tryLockUpload(upload.id);
  if (!lock) return 'deferred';
  try {
    const current = await findUpload(await getDb(), upload.id);
    if (!current || (current.status !== 'processing' && current.status !== 'receiving')) return 'deferred';
    await finishUpload(upload.id, file, SYSTEM(upload));
    return 'ingested';
  } catch (error) {
    if (isTransientFailure(error)) return 'deferred';
    if (error instanceof ApiError) return 'failed';
    throw error;
  } finally {
    await lock.release();
  }
}

/**
 * The reconcile sweep, run at start-up and then every minute. After a crash (or a database or
 * disk outage) it leaves the database and the disk agreeing:
 * - `processing` uploads (ingest interrupted) are ingested again (registration is idempotent per
 *   SOP instance); those whose file is gone are marked failed;
 * - `receiving` uploads whose every byte is on disk but whose ingest never started (the server
 *   died between the last write and the ingest, and the client saw Upload-Offset = length) are
 *   ingested; those whose file is gone (expired, or a crash between the row and the file) are
 *   marked failed;
 * - tus files without a row, or of finished uploads, are deleted;
 * - stored objects of ingests cut short before their catalogue commit are deleted.
 */
export async function reconcileUploads(options: ReconcileOptions = {}): Promise<ReconcileReport> {
  const idleMs = options.idleMs ?? 60_000;
  const pendingMs = options.pendingMs ?? 10 * 60_000;
  const report: ReconcileReport = { ingested: 0, failed: 0, deferred: 0, orphanFiles: 0, orphanObjects: 0 };
  const db = await getDb();
  await releaseDeadLocalLeases();
  const idleSince = new Date(Date.now() - idleMs);

  for (const upload of await listUploadsByStatus(db, ['processing', 'receiving'], idleSince)) {
    if (isLockedHere(upload.id) || (upload.lockExpiresAt && upload.lockExpiresAt > new Date())) {
      report.deferred++;
      continue;
    }
    const file = path.join(uploadsDir(), upload.id);
    const size = await fileSize(file);
    if (size === null) {
      // The row is written just before its file: a brand-new upload is not an orphan.
      if (upload.status === 'receiving' && upload.updatedAt.getTime() > Date.now() - Math.max(idleMs, MINUTE)) continue;
      await updateUpload(db, upload.id, {
        status: 'failed',
        errorCode: 'upload_incomplete',
        errorMessage: upload.status === 'processing' ? 'Processing was interrupted and the file is gone; upload it again' : 'The upload expired or its file is gone; upload it again',
      });
      report.failed++;
      continue;
    }
    const complete = upload.status === 'processing' || (upload.declaredSize !== null && size === upload.declaredSize && size > 0);
    if (!complete) continue; // still resumable: the client may come back
    report[await ingestComplete(upload, file)]++;
  }

  if (existsSync(uploadsDir())) {
    const names = (await readdir(uploadsDir())).filter((n) => UUID.test(n.replace(/\.json$/, '')));
    const ids = [...new Set(names.map((n) => n.replace(/\.json$/, '')))];
    const statuses = await existingUploadIds(db, ids);
    for (const name of names) {
      const id = name.replace(/\.json$/, '');
      const status = statuses.get(id);
      if (status === 'receiving' || status === 'processing' || isLockedHere(id)) continue;
      const file = path.join(uploadsDir(), name);
      const age = await ageMs(file);
      if (age === null || age < idleMs) continue;
      await rm(file, { force: true });
      report.orphanFiles++;
    }
  }

  if (existsSync(pendingDir())) {
    const keys: string[] = [];
    for (const key of await readdir(pendingDir())) {
      if (!isStorageKey(key)) continue;
      const age = await ageMs(path.join(pendingDir(), key));
      if (age !== null && age >= pendingMs) keys.push(key);
    }
    const referenced = await referencedStorageKeys(db, keys);
    for (const key of keys) {
      if (referenced.has(key)) {
        await settleObject(key);
      } else {
        await removeObject(key);
        report.orphanObjects++;
      }
    }
  }

  // Interrupted copies into storage (never referenced: renamed into place only when complete).
  if (existsSync(objectsRoot())) {
    for (const shard of await readdir(objectsRoot())) {
      if (!/^[0-9a-f]{2}$/.test(shard)) continue;
      for (const name of await readdir(path.join(objectsRoot(), shard))) {
        if (!name.endsWith('.partial') || !isStorageKey(name.slice(0, -'.partial'.length))) continue;
        const file = `${objectPath(name.slice(0, -'.partial'.length))}.partial`;
        const age = await ageMs(file);
        if (age !== null && age >= pendingMs) await rm(file, { force: true });
      }
    }
  }
  return report;
}

const MINUTE = 60 * 1000;
const HOUR = 60 * MINUTE;

const globalForMaintenance = globalThis as typeof globalThis & { __imagingUploadMaintenance?: boolean };

/**
 * Background upkeep for uploads: the reconcile sweep at start-up (no grace: nothing of this
 * process is writing yet, and leases guard other processes) and every minute after; tus expiry
 * every hour. A sweep that fails (database down) is retried on the next tick. Timers never keep
 * the process alive.
 */
export function startUploadMaintenance(): void {
  if (globalForMaintenance.__imagingUploadMaintenance) return;
  globalForMaintenance.__imagingUploadMaintenance = true;
  let running = false;
  let first = true;
  const sweep = async () => {
    if (running) return;
    running = true;
    try {
      const report = await reconcileUploads({ idleMs: first ? 0 : MINUTE });
      first = false;
      if (report.ingested || report.failed || report.orphanFiles || report.orphanObjects) {
        console.log(`[upload] reconcile: ${report.ingested} ingested, ${report.failed} failed, ${report.deferred} deferred, ${report.orphanFiles} orphan files and ${report.orphanObjects} orphan objects removed`);
      }
    } catch (error) {
      console.warn(`[upload] reconcile sweep failed, retrying in a minute: ${(error as Error).message}`);
    } finally {
      running = false;
    }
  };
  void sweep();
  setInterval(() => void sweep(), MINUTE).unref();
  setInterval(() => {
    cleanUpExpiredUploads().catch((error) => console.warn(`[upload] expiry cleanup failed: ${(error as Error).message}`));
  }, HOUR).unref();
}
