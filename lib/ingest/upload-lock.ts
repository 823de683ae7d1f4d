import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { getDb } from '@/db';
import { acquireUploadLease, listLeasesByOwnerPrefix, releaseUploadLease, renewUploadLease } from '@/db/queries/uploads';
import { ApiError } from '@/lib/api/errors';

/**
 * One writer per upload. tus's MemoryLocker only sees this process, and it hands the lock to the
 * newcomer by cancelling the current request; here a second writer is refused (423) instead, in
 * this process (a map) and across processes sharing the database (a lease on the upload row,
 * renewed while the write runs, so a writer that died frees the upload once the lease lapses).
 */

export const LEASE_MS = 10_000;
const RENEW_MS = 3_000;
const HOST = os.hostname();
const INSTANCE = `${HOST}:${process.pid}:${randomUUID().slice(0, 8)}`;

const globalForLocks = globalThis as typeof globalThis & { __imagingUploadLocks?: Set<string> };
const held = (globalForLocks.__imagingUploadLocks ??= new Set<string>());

export interface UploadLock {
  release(): Promise<void>;
}

export function uploadLocked(): ApiError {
  return new ApiError(423, 'locked', 'Another request is writing to this upload; retry shortly', { 'Retry-After': '2' });
}

/** Takes the upload's write lock or returns null when someone else holds it. */
export async function tryLockUpload(id: string): Promise<UploadLock | null> {
  if (held.has(id)) return null;
  held.add(id);
  const owner = `${INSTANCE}:${randomUUID().slice(0, 8)}`;
  try {
    const db = await getDb();
    if (!(await acquireUploadLease(db, id, owner, LEASE_MS))) {
      held.delete(id);
      return null;
    }
  } catch (error) {
    held.delete(id);
    throw error;
  }
  const timer = setInterval(() => {
    void getDb()
      .then((db) => renewUploadLease(db, id, owner, LEASE_MS))
      .catch((error) => console.warn(`[upload] could not renew the write lease of ${id}: ${(error as Error).message}`));
  }, RENEW_MS);
  timer.unref();
  let released = false;
  return {
    async release() {
      if (released) return;
      released = true;
      clearInterval(timer);
      held.delete(id);
      // A lease that cannot be released now (database down) lapses on its own.
      await getDb()
        .then((db) => releaseUploadLease(db, id, owner))
        .catch((error) => console.warn(`[upload] could not release the write lease of ${id}: ${(error as Error).message}`));
    },
  };
}

/** Runs `fn` holding the upload's write lock; 423 when another writer has it. */
export async function withUploadLock<T>(id: string, fn: () => Promise<T>): Promise<T> {
  const lock = await tryLockUpload(id);
  if (!lock) throw uploadLocked();
  try {
    return await fn();
  } finally {
    await lock.release();
  }
}

/** Whether this process is writing to the upload right now (the reconcile sweep leaves it alone). */
export function isLockedHere(id: string): boolean {
  return held.has(id);
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Frees leases of processes on this host that are gone (the server was killed mid-upload and
 * restarted): the client resuming right after the restart need not wait for them to lapse.
 * Leases of other hosts, and of live processes, are left to lapse or be released.
 */
export async function releaseDeadLocalLeases(): Promise<number> {
  const db = await getDb();
  let released = 0;
  for (const lease of await listLeasesByOwnerPrefix(db, `${HOST}:`)) {
    const pid = Number(lease.owner.slice(HOST.length + 1).split(':')[0]);
    if (!Number.isInteger(pid) || pid === process.pid || processAlive(pid)) continue;
    await releaseUploadLease(db, lease.id, lease.owner);
    released++;
  }
  return released;
}
