import { z } from 'zod';
import { STUDY_SORT_KEYS, type StudyQuery } from '@/db/queries/studies';
import { studyPriority, studyStatus } from '@/db/schema';
import { badRequest } from '@/lib/api/errors';

export const STUDY_STATUSES = studyStatus.enumValues;
export const STUDY_PRIORITIES = studyPriority.enumValues;
export const DEFAULT_PAGE_SIZE = 50;
const DEFAULT_SORT = 'createdAt';
const DEFAULT_ORDER = 'desc';

const dicomDate = z
  .string()
  .trim()
  .regex(/^\d{4}-?\d{2}-?\d{2}$/, 'use YYYY-MM-DD or YYYYMMDD')
  .transform((v) => v.replace(/-/g, ''))
  // Says what comes out (YYYYMMDD), so saved filters are described exactly in the OpenAPI document.
  .pipe(z.string().regex(/^\d{8}$/));

/** `a,b`, `["a","b"]` or a repeated query parameter: one list, empty items dropped, no repeats. */
function toList(value: unknown): unknown {
  if (value === undefined || value === null) return undefined;
  const items = [value]
    .flat()
    .flatMap((v) => (typeof v === 'string' ? v.split(',') : [v]))
    .map((v) => (typeof v === 'string' ? v.trim() : v))
    .filter((v) => v !== '');
  return items.length ? [...new Set(items)] : undefined;
}

const listOf = <T extends string>(values: readonly [T, ...T[]]) => z.preprocess(toList, z.array(z.enum(values)).optional());

/** `me`, `unassigned`, or a user id. */
export const assigneeFilter = z.union([z.literal('me'), z.literal('unassigned'), z.string().uuid('must be me, unassigned or a user id')]);

const filterShape = {
  pageSize: z.coerce.number().int().min(1).max(200).default(DEFAULT_PAGE_SIZE),
  q: z.string().trim().max(128).optional(),
  patientName: z.string().trim().max(128).optional(),
  patientId: z.string().trim().max(64).optional(),
  accessionNumber: z.string().trim().max(64).optional(),
  dateFrom: dicomDate.optional(),
  dateTo: dicomDate.optional(),
  modality: z.string().trim().toUpperCase().regex(/^[A-Z]{1,16}$/, 'must be a modality code such as CT').optional(),
  status: listOf(STUDY_STATUSES),
  priority: listOf(STUDY_PRIORITIES),
  assignee: assigneeFilter.optional(),
  sort: z.enum(STUDY_SORT_KEYS).default(DEFAULT_SORT),
  order: z.enum(['asc', 'desc']).default(DEFAULT_ORDER),
};

const datesInOrder = (q: { dateFrom?: string; dateTo?: string }) => !q.dateFrom || !q.dateTo || q.dateFrom <= q.dateTo;
const datesMessage = { message: 'dateFrom must not be after dateTo', path: ['dateFrom'] };

/** What a saved search stores: every filter, the sort and the page size, but no page. */
export const studyFiltersSchema = z.strictObject(filterShape).refine(datesInOrder, datesMessage);
export type StudyFilters = z.output<typeof studyFiltersSchema>;

/** Query string of GET /api/studies and the worklist page. */
export const studyQuerySchema = z
  .object({
    ...filterShape,
    page: z.coerce.number().int().min(1).max(100_000).default(1),
    /** Applies one of the caller's saved searches; other parameters given override it. */
    savedSearch: z.string().uuid().optional(),
  })
  .refine(datesInOrder, datesMessage);

export type StudySearch = z.output<typeof studyQuerySchema>;

const LIST_KEYS = new Set(['status', 'priority']);

/** The raw values of a query string: list parameters may repeat, empty values mean "not given". */
export function rawSearchParams(params: URLSearchParams): Record<string, string | string[]> {
  const raw: Record<string, string | string[]> = {};
  for (const key of new Set(params.keys())) {
    const values = params.getAll(key).filter((v) => v !== '');
    if (values.length === 0) continue;
    raw[key] = LIST_KEYS.has(key) ? values : values[values.length - 1]!;
  }
  return raw;
}

export function parseStudySearch(params: URLSearchParams): StudySearch {
  return studyQuerySchema.parse(rawSearchParams(params));
}

/** The filters of a search, as a saved search keeps them. */
export function filtersOf(search: StudySearch | StudyFilters): StudyFilters {
  const { page: _page, savedSearch: _saved, ...filters } = search as StudySearch;
  return studyFiltersSchema.parse(filters);
}

/** YYYYMMDD as YYYY-MM-DD (URLs, date inputs). */
export const isoDate = (d: string) => `${d.slice(0, 4)}-${d.slice(4, 6)}-${d.slice(6, 8)}`;

/**
 * The URL form of a search (shareable, bookmarkable): defaults are left out, lists repeat their
 * parameter, dates read YYYY-MM-DD.
 */
export function toSearchParams(search: Partial<StudySearch>): URLSearchParams {
  const out = new URLSearchParams();
  const order: (keyof StudySearch)[] = ['q', 'status', 'priority', 'assignee', 'modality', 'dateFrom', 'dateTo', 'patientName', 'patientId', 'accessionNumber', 'sort', 'order', 'pageSize', 'page'];
  for (const key of order) {
    const value = search[key];
    if (value === undefined || value === null || value === '') continue;
    if (key === 'sort' && value === DEFAULT_SORT) continue;
    if (key === 'order' && value === DEFAULT_ORDER) continue;
    if (key === 'pageSize' && value === DEFAULT_PAGE_SIZE) continue;
    if (key === 'page' && value === 1) continue;
    if (Array.isArray(value)) for (const item of value) out.append(key, item);
    else out.set(key, key === 'dateFrom' || key === 'dateTo' ? isoDate(String(value)) : String(value));
  }
  return out;
}

/** A worklist URL for a search; `/` when nothing differs from the defaults. */
export function worklistHref(search: Partial<StudySearch>): string {
  const qs = toSearchParams(search).toString();
  return qs ? `/?${qs}` : '/';
}

/**
 * The database query for a search. `me` is the signed-in user; API tokens act for no user, so
 * `assignee=me` is refused for them.
 */
export function toStudyQuery(search: StudySearch, me: string | null = null): StudyQuery {
  const { page, pageSize, assignee, savedSearch: _saved, ...filters } = search;
  let assigneeId: string | null | undefined;
  if (assignee === 'me') {
    if (!me) throw badRequest('assignee=me needs a signed-in user; API tokens pass a user id');
    assigneeId = me;
  } else if (assignee === 'unassigned') {
    assigneeId = null;
  } else {
    assigneeId = assignee;
  }
  return { ...filters, assigneeId, limit: pageSize, offset: (page - 1) * pageSize };
}
