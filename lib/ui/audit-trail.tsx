import Link from 'next/link';
import { ZodError } from 'zod';
import { USER_ROLES, auditOutcome } from '@/db/schema';
import type { Actor } from '@/lib/audit';
import { OUTCOME_INDICATORS } from '@/lib/audit/events';
import { parseAuditTrailQuery, searchTrail } from '@/lib/audit/trail';
import { AuditActorCell, AuditFilterSelect, AuditPagination, describeAuditDetails } from '@/lib/ui/audit-rows';
import { formatDateTime } from '@/lib/ui/format';

const FILTERS = ['user', 'role', 'action', 'outcome', 'patient', 'study', 'address', 'from', 'to'] as const;
type Params = Record<string, string | undefined>;

function queryOf(params: Params, extra: Record<string, string> = {}): string {
  const entries = [...FILTERS, 'pageSize'].flatMap((k) => (params[k] ? [[k, params[k]!]] : []));
  return new URLSearchParams([...entries, ...Object.entries(extra)]).toString();
}


/** The whole trail for administrators (/admin/audit): filters and page in the URL, export links beside them. */
export async function AuditTrailView({ actor, params }: { actor: Actor; params: Params }) {
  let problem: string | null = null;
  let query;
  try {
    query = parseAuditTrailQuery({ ...params, format: undefined });
  } catch (error) {
    if (!(error instanceof ZodError)) throw error;
    problem = error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    query = parseAuditTrailQuery({});
  }
  // Invalid filters are ignored, so the export links must not carry them either.
  const shown = problem ? {} : params;
  const trail = await searchTrail(actor, query);
  return (
    <div className="card">
      <form method="get" action="/admin/audit" className="row" aria-label="Audit filters">
        <label>
          Who (email or id)
          <input name="user" defaultValue={params.user ?? ''} maxLength={254} />
        </label>
        <AuditFilterSelect label="Role" name="role" value={params.role} options={USER_ROLES} />
        <label>
          Action
          <input name="action" defaultValue={params.action ?? ''} placeholder="study.read or dicomweb.*" maxLength={65} />
        </label>
        <AuditFilterSelect label="Outcome" name="outcome" value={params.outcome} options={auditOutcome.enumValues} />
        <label>
          Patient (id or Patient ID)
          <input name="patient" defaultValue={params.patient ?? ''} maxLength={128} />
        </label>
        <label>
          Study (id or Study Instance UID)
          <input name="study" defaultValue={params.study ?? ''} maxLength={128} />
        </label>
        <label>
          Address
          <input name="address" defaultValue={params.address ?? ''} maxLength={45} />
        </label>
        <label>
          From
          <input name="from" type="date" defaultValue={params.from ?? ''} />
        </label>
        <label>
          To
          <input name="to" type="date" defaultValue={params.to ?? ''} />
        </label>
        <button type="submit" className="secondary">
          Search
        </button>
        <Link href="/admin/audit">Clear</Link>
      </form>
      {problem ? (
        <p role="alert" className="error">
          These filters are not valid and were ignored: {problem}
        </p>
      ) : null}
      <p className="row">
        <span className="muted">Export every matching entry:</span>
        <a href={`/api/audit?${queryOf(shown, { format: 'csv' })}`} download>
          Export CSV
        </a>
        <a href={`/api/audit?${queryOf(shown, { format: 'json' })}`} download>
          Export JSON
        </a>
      </p>
      {trail.entries.length === 0 ? (
        <p className="muted">No entries.</p>
      ) : (
        <table className="audit-table">
          <thead>
            <tr>
              <th>When</th>
              <th>Action</th>
              <th>Event (PS3.15)</th>
              <th>Outcome</th>
              <th>Who</th>
              <th>From</th>
              <th>Patient / study</th>
              <th>Details</th>
            </tr>
          </thead>
          <tbody>
            {trail.entries.map((e) => (
              <tr key={e.id} data-testid="audit-row">
                <td className="nowrap">{formatDateTime(e.at)}</td>
                <td>{e.action}</td>
                <td className="muted">
                  {e.eventIdName} · {e.eventActionCode}
                  {e.eventTypeName ? ` · ${e.eventTypeName}` : ''}
                </td>
                <td>
                  <span className={`badge outcome-${e.outcome}`} title={OUTCOME_INDICATORS[e.eventOutcomeIndicator]}>
                    {e.outcome}
                  </span>
                </td>
                <AuditActorCell entry={e} />
                <td className="muted">{e.clientAddress ?? '—'}</td>
                <td className="muted">
                  {e.patientKey ?? e.patientId?.slice(0, 8) ?? '—'}
                  {e.studyId ? (
                    <>
                      {' / '}
                      <Link href={`/studies/${e.studyId}`}>{e.studyInstanceUid ?? e.studyId.slice(0, 8)}</Link>
                    </>
                  ) : null}
                </td>
                <td className="muted details">{describeAuditDetails(e.details)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <AuditPagination total={trail.total} page={trail.page} pageSize={trail.pageSize} hrefOf={(p) => `/admin/audit?${queryOf(shown, { page: String(p) })}`} />
    </div>
  );
}
