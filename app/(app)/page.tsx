import type { Metadata } from 'next';
import { redirect } from 'next/navigation';
import { ZodError } from 'zod';
import { STUDY_SORT_KEYS } from '@/db/queries/studies';
import { ApiError } from '@/lib/api/errors';
import { actorFor, requireUser } from '@/lib/auth/session';
import { DEFAULT_PAGE_SIZE, isoDate, rawSearchParams, STUDY_PRIORITIES, STUDY_STATUSES, studyQuerySchema, toSearchParams, toStudyQuery, worklistHref } from '@/lib/studies/query';
import { listMySavedSearches, resolveStudySearch } from '@/lib/studies/saved-searches';
import { assignableUsers, canAssign, canPrioritise } from '@/lib/studies/workflow';
import { searchStudies } from '@/lib/studies/worklist';
import { SavedSearches } from '@/lib/ui/worklist/saved-searches';
import { WorklistFilters } from '@/lib/ui/worklist/worklist-filters';
import { Pagination, WorklistTable } from '@/lib/ui/worklist/worklist-table';

export const metadata: Metadata = { title: 'Worklist' };

const SORT_LABELS: Record<(typeof STUDY_SORT_KEYS)[number], string> = {
  createdAt: 'received',
  studyDate: 'study date',
  patientName: 'patient name',
  modality: 'modality',
  status: 'status',
  priority: 'priority',
};
const MODALITIES = ['CT', 'MR', 'CR', 'DX', 'US', 'NM', 'PT', 'XA', 'MG', 'RF', 'OT', 'SEG', 'SR'];

type PageSearchParams = Promise<Record<string, string | string[] | undefined>>;

function toUrlParams(raw: Awaited<PageSearchParams>): URLSearchParams {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(raw)) for (const v of [value ?? []].flat()) params.append(key, v);
  return params;
}

export default async function WorklistPage({ searchParams }: { searchParams: PageSearchParams }) {
  const params = toUrlParams(await searchParams);
  const user = await requireUser(params.size ? `/?${params}` : '/');
  const actor = await actorFor(user);

  // A saved search's id in the URL opens its filters as a URL of their own.
  if (params.has('savedSearch')) {
    let target = '/';
    try {
      target = worklistHref(await resolveStudySearch(actor, params));
    } catch (error) {
      if (!(error instanceof ApiError || error instanceof ZodError)) throw error;
    }
    redirect(target);
  }

  const parsed = studyQuerySchema.safeParse(rawSearchParams(params));
  const search = parsed.success ? parsed.data : studyQuerySchema.parse({});
  const problem = parsed.success ? null : parsed.error.issues.map((i) => `${i.path.join('.') || 'filter'}: ${i.message}`).join('; ');
  const [{ rows, total }, assignees, saved] = await Promise.all([
    searchStudies(actor, toStudyQuery(search, user.id)),
    assignableUsers(),
    listMySavedSearches(actor),
  ]);
  const people = assignees.map((a) => ({ id: a.id, name: a.name }));
  const current = worklistHref({ ...search, page: 1 });
  return (
    <>
      <h1>Worklist</h1>
      <div className="worklist-layout">
        <div className="card">
          <WorklistFilters
            key={current}
            values={{
              q: search.q,
              status: search.status,
              priority: search.priority,
              assignee: search.assignee,
              modality: search.modality,
              dateFrom: search.dateFrom && isoDate(search.dateFrom),
              dateTo: search.dateTo && isoDate(search.dateTo),
              sort: search.sort,
              order: search.order,
              pageSize: search.pageSize,
            }}
            choices={{
              statuses: STUDY_STATUSES,
              priorities: STUDY_PRIORITIES,
              sortKeys: STUDY_SORT_KEYS.map((k) => ({ value: k, label: SORT_LABELS[k] })),
              modalities: MODALITIES,
              assignees: people,
              defaults: { sort: 'createdAt', order: 'desc', pageSize: DEFAULT_PAGE_SIZE },
            }}
          />
          {problem ? (
            <p role="alert" className="error">
              These filters are not valid and were ignored: {problem}
            </p>
          ) : null}
        </div>
        <aside className="card">
          <SavedSearches items={saved.map((s) => ({ id: s.id, name: s.name, href: s.href }))} currentQuery={toSearchParams({ ...search, page: 1 }).toString()} activeHref={current} />
        </aside>
      </div>
      <div className="card">
        {rows.length === 0 ? (
          <p className="empty">{total === 0 && params.size === 0 ? 'No studies yet.' : 'No studies match these filters.'}</p>
        ) : (
          <WorklistTable
            rows={rows}
            search={search}
            me={{ id: user.id, name: user.name }}
            assignees={people}
            canAssign={canAssign(user.role)}
            canPrioritise={canPrioritise(user.role)}
          />
        )}
        <Pagination search={search} total={total} />
      </div>
    </>
  );
}
