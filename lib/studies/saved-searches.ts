import { z } from 'zod';
import { getDb } from '@/db';
import { isUniqueViolation } from '@/db/errors';
import {
  deleteSavedSearch as deleteRow,
  findSavedSearch,
  insertSavedSearch,
  listSavedSearches,
  updateSavedSearch as updateRow,
  type SearchOwner,
} from '@/db/queries/saved-searches';
import type { SavedSearch } from '@/db/schema';
import { ApiError, conflict, forbidden, notFound } from '@/lib/api/errors';
import { recordAudit, type Actor } from '@/lib/audit';
import { parseStudySearch, rawSearchParams, studyFiltersSchema, studyQuerySchema, toSearchParams, worklistHref, type StudyFilters, type StudySearch } from './query';

/** A user keeps at most this many; enough for any worklist routine, bounded for the page. */
export const MAX_SAVED_SEARCHES = 100;

const name = z.string().trim().min(1, 'Enter a name').max(100, 'Use at most 100 characters');
const id = z.string().uuid();

export const newSavedSearchSchema = z.strictObject({ name, filters: studyFiltersSchema });
export const savedSearchChangeSchema = z
  .strictObject({ name: name.optional(), filters: studyFiltersSchema.optional() })
  .refine((c) => c.name !== undefined || c.filters !== undefined, 'Nothing to change: give name or filters');

/** Saved searches are personal: a user's, or for API clients the token's own. */
function ownerOf(actor: Actor): SearchOwner {
  if (actor.userId) return { userId: actor.userId };
  if (actor.tokenId) return { tokenId: actor.tokenId };
  throw forbidden('Saved searches need a signed-in user or an API token');
}

export interface SavedSearchView {
  id: string;
  name: string;
  filters: StudyFilters;
  /** The worklist URL that applies it. */
  href: string;
  createdAt: Date;
  updatedAt: Date;
}

function toView(row: SavedSearch): SavedSearchView {
  // Stored filters were validated on the way in; re-parsing keeps old rows valid as filters grow.
  const parsed = studyFiltersSchema.safeParse(row.filters);
  const filters = parsed.success ? parsed.data : studyFiltersSchema.parse({});
  return { id: row.id, name: row.name, filters, href: worklistHref(filters), createdAt: row.createdAt, updatedAt: row.updatedAt };
}

/** Runs a change and audits it: success with what changed, or the refusal. */
async function audited<T extends SavedSearch | undefined>(
  actor: Actor,
  action: string,
  resourceId: string | null,
  change: () => Promise<T>,
): Promise<NonNullable<T>> {
  try {
    const row = await change();
    if (!row) throw notFound('No such saved search');
    await recordAudit(actor, { action, outcome: 'success', resourceType: 'saved_search', resourceId: row.id, details: { name: row.name } });
    return row as NonNullable<T>;
  } catch (error) {
    if (error instanceof ApiError || error instanceof z.ZodError) {
      const code = error instanceof ApiError ? error.code : 'validation_error';
      await recordAudit(actor, { action, outcome: code === 'forbidden' ? 'denied' : 'failure', resourceType: 'saved_search', resourceId, details: { code } });
    }
    throw error;
  }
}

export async function listMySavedSearches(actor: Actor): Promise<SavedSearchView[]> {
  return (await listSavedSearches(await getDb(), ownerOf(actor))).map(toView);
}

export async function getSavedSearch(actor: Actor, searchId: string): Promise<SavedSearchView> {
  const row = id.safeParse(searchId).success ? await findSavedSearch(await getDb(), ownerOf(actor), searchId) : undefined;
  if (!row) {
    // Missing or someone else's (the lookup is by owner, so the two look alike): a failed access.
    await recordAudit(actor, { action: 'saved_search.read', outcome: 'failure', resourceType: 'saved_search', resourceId: searchId.slice(0, 64), details: { code: 'not_found' } });
    throw notFound('No such saved search');
  }
  return toView(row);
}

export async function createSavedSearch(actor: Actor, input: unknown): Promise<SavedSearchView> {
  return toView(
    await audited(actor, 'saved_search.create', null, async () => {
      const owner = ownerOf(actor);
      const data = newSavedSearchSchema.parse(input);
      const db = await getDb();
      if ((await listSavedSearches(db, owner)).length >= MAX_SAVED_SEARCHES) {
        throw conflict(`You have ${MAX_SAVED_SEARCHES} saved searches already; delete one first`);
      }
      return insertSavedSearch(db, owner, data).catch((error) => {
        throw isUniqueViolation(error) ? conflict(`You already have a saved search named "${data.name}"`) : error;
      });
    }),
  );
}

export async function updateSavedSearch(actor: Actor, searchId: string, input: unknown): Promise<SavedSearchView> {
  return toView(
    await audited(actor, 'saved_search.update', searchId, async () => {
      const owner = ownerOf(actor);
      const data = savedSearchChangeSchema.parse(input);
      if (!id.safeParse(searchId).success) return undefined;
      return updateRow(await getDb(), owner, searchId, data).catch((error) => {
        throw isUniqueViolation(error) ? conflict(`You already have a saved search named "${data.name}"`) : error;
      });
    }),
  );
}

export async function deleteSavedSearch(actor: Actor, searchId: string): Promise<void> {
  await audited(actor, 'saved_search.delete', searchId, async () => {
    const owner = ownerOf(actor);
    return id.safeParse(searchId).success ? deleteRow(await getDb(), owner, searchId) : undefined;
  });
}

/**
 * A worklist query string with `savedSearch=<id>`: the saved filters, overridden by any other
 * parameter given alongside (e.g. `page`). Someone else's saved search is a 404.
 */
export async function resolveStudySearch(actor: Actor, params: URLSearchParams): Promise<StudySearch> {
  const search = parseStudySearch(params);
  if (!search.savedSearch) return search;
  const saved = await getSavedSearch(actor, search.savedSearch);
  const { savedSearch: _id, ...given } = rawSearchParams(params);
  return studyQuerySchema.parse({ ...rawSearchParams(toSearchParams(saved.filters)), ...given });
}
