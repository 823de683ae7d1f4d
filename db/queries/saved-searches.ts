import { and, asc, eq, sql, type SQL } from 'drizzle-orm';
import type { Executor } from '../index';
import { savedSearches, type SavedSearch } from '../schema';

/** A saved search belongs to exactly one user or one API token. */
export type SearchOwner = { userId: string; tokenId?: null } | { tokenId: string; userId?: null };

function ownedBy(owner: SearchOwner): SQL {
  return owner.userId ? eq(savedSearches.userId, owner.userId) : eq(savedSearches.tokenId, owner.tokenId!);
}

export async function listSavedSearches(db: Executor, owner: SearchOwner): Promise<SavedSearch[]> {
  return db
    .select()
    .from(savedSearches)
    .where(ownedBy(owner))
    .orderBy(sql`lower(${savedSearches.name})`, asc(savedSearches.id));
}

/** Undefined for another owner's search as for a missing one. */
export async function findSavedSearch(db: Executor, owner: SearchOwner, id: string): Promise<SavedSearch | undefined> {
  const [row] = await db
    .select()
    .from(savedSearches)
    .where(and(eq(savedSearches.id, id), ownedBy(owner)))
    .limit(1);
  return row;
}

export async function insertSavedSearch(db: Executor, owner: SearchOwner, values: { name: string; filters: Record<string, unknown> }): Promise<SavedSearch> {
  const [row] = await db
    .insert(savedSearches)
    .values({ userId: owner.userId ?? null, tokenId: owner.tokenId ?? null, ...values })
    .returning();
  if (!row) throw new Error('saved search insert returned no row');
  return row;
}

export async function updateSavedSearch(
  db: Executor,
  owner: SearchOwner,
  id: string,
  changes: { name?: string; filters?: Record<string, unknown> },
): Promise<SavedSearch | undefined> {
  const [row] = await db
    .update(savedSearches)
    .set(changes)
    .where(and(eq(savedSearches.id, id), ownedBy(owner)))
    .returning();
  return row;
}

export async function deleteSavedSearch(db: Executor, owner: SearchOwner, id: string): Promise<SavedSearch | undefined> {
  const [row] = await db
    .delete(savedSearches)
    .where(and(eq(savedSearches.id, id), ownedBy(owner)))
    .returning();
  return row;
}
