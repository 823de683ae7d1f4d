import Link from 'next/link';
import type { StudyPriority, StudySortKey, StudyStatus } from '@/db/queries/studies';
import { worklistHref, type StudySearch } from '@/lib/studies/query';
import { formatDateTime, formatDicomDate } from '@/lib/ui/format';
import { StudyStatusBadge } from '@/lib/ui/status-badges';
import { AssigneeControl, PriorityControl, type Person } from './workflow-controls';

export interface WorklistRow {
  id: string;
  studyDate: string | null;
  description: string | null;
  accessionNumber: string | null;
  modalities: string[];
  status: StudyStatus;
  priority: StudyPriority;
  assignee: Person | null;
  processing: { status: string; progress: number } | null;
  patient: { name: string | null; patientId: string };
  createdAt: Date;
}

function SortHeader({ search, sortKey, children }: { search: StudySearch; sortKey: StudySortKey; children: string }) {
  const active = search.sort === sortKey;
  const order = active && search.order === 'desc' ? 'asc' : 'desc';
  return (
    <th aria-sort={active ? (search.order === 'asc' ? 'ascending' : 'descending') : undefined}>
      <Link href={worklistHref({ ...search, sort: sortKey, order, page: 1 })} className="sort-link">
        {children}
        {active ? (search.order === 'asc' ? ' ▲' : ' ▼') : ''}
      </Link>
    </th>
  );
}

export function WorklistTable({
  rows,
  search,
  me,
  assignees,
  canAssign,
  canPrioritise,
}: {
  rows: WorklistRow[];
  search: StudySearch;
  me: Person;
  assignees: Person[];
  canAssign: boolean;
  canPrioritise: boolean;
}) {
  return (
    <table className="worklist">
      <thead>
        <tr>
          <SortHeader search={search} sortKey="patientName">
            Patient
          </SortHeader>
          <th>Patient ID</th>
          <SortHeader search={search} sortKey="studyDate">
            Date
          </SortHeader>
          <SortHeader search={search} sortKey="modality">
            Modality
          </SortHeader>
          <th>Description</th>
          <SortHeader search={search} sortKey="status">
            Status
          </SortHeader>
          <SortHeader search={search} sortKey="priority">
            Priority
          </SortHeader>
          <th>Assignee</th>
          <SortHeader search={search} sortKey="createdAt">
            Received
          </SortHeader>
          <th />
        </tr>
      </thead>
      <tbody>
        {rows.map((s) => {
          const label = s.patient.name || s.patient.patientId || 'study';
          return (
            <tr key={s.id} data-testid="worklist-row" data-study-id={s.id} className={`priority-row-${s.priority}`}>
              <td>
                <Link href={`/studies/${s.id}`}>{s.patient.name || '(no name)'}</Link>
              </td>
              <td>{s.patient.patientId}</td>
              <td>{formatDicomDate(s.studyDate)}</td>
              <td>{s.modalities.join(', ')}</td>
              <td>{s.description}</td>
              <td>
                <StudyStatusBadge status={s.status} processing={s.processing} />
              </td>
              <td>
                <PriorityControl studyId={s.id} label={label} priority={s.priority} canPrioritise={canPrioritise} />
              </td>
              <td>
                <AssigneeControl studyId={s.id} label={label} assignee={s.assignee} me={me} assignees={assignees} canAssign={canAssign} />
              </td>
              <td className="muted nowrap">{formatDateTime(s.createdAt)}</td>
              <td>
                <Link href={`/studies/${s.id}/view`} data-testid="worklist-view" aria-label={`View ${s.patient.name || 'study'} in the viewer`}>
                  View
                </Link>
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

export function Pagination({ search, total }: { search: StudySearch; total: number }) {
  const pages = Math.max(1, Math.ceil(total / search.pageSize));
  const first = total === 0 ? 0 : (search.page - 1) * search.pageSize + 1;
  const last = Math.min(total, search.page * search.pageSize);
  return (
    <nav className="pagination" aria-label="Pages">
      <span className="muted" data-testid="worklist-count">
        {total === 0 ? 'No studies' : `${first}–${last} of ${total} ${total === 1 ? 'study' : 'studies'}`}
      </span>
      {search.page > 1 ? <Link href={worklistHref({ ...search, page: search.page - 1 })}>← Previous</Link> : null}
      <span className="muted">
        Page {Math.min(search.page, pages)} of {pages}
      </span>
      {search.page < pages ? <Link href={worklistHref({ ...search, page: search.page + 1 })}>Next →</Link> : null}
    </nav>
  );
}
