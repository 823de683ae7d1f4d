import { and, eq, gt, inArray, isNull, like, lt, or, sql } from 'drizzle-orm';
import type { Executor } from '../index';
import { uploads, type Upload } from '../schema';

export async function insertUpload(db: Executor, upload: typeof uploads.$inferInsert): Promise<Upload> {
  const [row] = await db.insert(uploads).values(upload).returning();
  if (!row) throw new Error('upload insert returned no row');
  return row;
}

export async function findUpload(db: Executor, id: string): Promise<Upload | undefined> {
  const [row] = await db.select().from(uploads).where(eq(uploads.id, id)).limit(1);
  return row;
}

export async function updateUpload(
  db: Executor,
  id: string,
  changes: Partial<Omit<typeof uploads.$inferInsert, 'id' | 'createdAt'>>,
): Promise<void> {
  await db.update(uploads).set(changes).where(eq(uploads.id, id));
}

/** Takes the write lease if it is free or lapsed; false when another writer holds it. */
export async function acquireUploadLease(db: Executor, id: string, owner: string, ttlMs: number): Promise<boolean> {
  const rows = await db
    .update(uploads)
    .set({ lockOwner: owner, lockExpiresAt: sql`now() + ${`${ttlMs} milliseconds`}::interval` })
    .where(and(eq(uploads.id, id), or(isNull(uploads.lockOwner), lt(uploads.lockExpiresAt, sql`now()`))))
    .returning({ id: uploads.id });
  return rows.length > 0;
}

export async function renewUploadLease(db: Executor, id: string, owner: string, ttlMs: number): Promise<boolean> {
  const rows = await db
    .update(uploads)
    .set({ lockExpiresAt: sql`now() + ${`${ttlMs} milliseconds`}::interval` })
    .where(and(eq(uploads.id, id), eq(uploads.lockOwner, owner)))
    .returning({ id: uploads.id });
  return rows.length > 0;
}

export async function releaseUploadLease(db: Executor, id: string, owner: string): Promise<void> {
  await db.update(uploads).set({ lockOwner: null, lockExpiresAt: null }).where(and(eq(uploads.id, id), eq(uploads.lockOwner, owner)));
}

/** Uploads in one of these states, oldest first (for the reconcile sweep). */
export async function listUploadsByStatus(db: Executor, statuses: Upload['status'][], updatedBefore: Date): Promise<Upload[]> {
  return db
    .select()
    .from(uploads)
    .where(and(inArray(uploads.status, statuses), lt(uploads.updatedAt, updatedBefore)))
    .orderBy(uploads.updatedAt);
}

/** Which of these ids name an upload row. */
export async function existingUploadIds(db: Executor, ids: string[]): Promise<Map<string, Upload['status']>> {
  if (ids.length === 0) return new Map();
  const rows = await db.select({ id: uploads.id, status: uploads.status }).from(uploads).where(inArray(uploads.id, ids));
  return new Map(rows.map((r) => [r.id, r.status]));
}

/** Leases currently held by owners whose name starts with `prefix` (this host's processes). */
export async function listLeasesByOwnerPrefix(db: Executor, prefix: string): Promise<{ id: string; owner: string }[]> {
  const rows = await db
    .select({ id: uploads.id, owner: uploads.lockOwner })
    .from(uploads)
    .where(and(like(uploads.lockOwner, `${prefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`), gt(uploads.lockExpiresAt, sql`now()`)));
  return rows.filter((r): r is { id: string; owner: string } => r.owner !== null);
}
