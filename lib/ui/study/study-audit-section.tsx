import Link from 'next/link';
import { ZodError } from 'zod';
import type { Actor } from '@/lib/audit';
import { AUDIT_OUTCOMES, loadStudyAuditTrail, parseStudyAuditQuery } from '@/lib/studies/audit-trail';
import { AuditActorCell, AuditFilterSelect, AuditPagination, describeAuditDetails } from '@/lib/ui/audit-rows';
import { formatDateTime } from '@/lib/ui/format';

/** The study page's query parameters for the trail, prefixed so they never meet other sections'. */
const PARAM = { page: 'auditPage', action: 'auditAction', outcome: 'auditOutcome', actor: 'auditActor', from: 'auditFrom', to: 'auditTo' } as const;
type AuditParams = Partial<Record<keyof typeof PARAM, string>>;

export function auditParamsOf(search: URLSearchParams): AuditParams {
  return Object.fromEntries(Object.entries(PARAM).flatMap(([key, name]) => (search.get(name) ? [[key, search.get(name)!]] : []))) as AuditParams;
}

function hrefFor(studyId: string, params: AuditParams): string {
  const qs = new URLSearchParams(Object.entries(params).flatMap(([key, value]) => (value ? [[PARAM[key as keyof typeof PARAM], value]] : []))).toString();
  return `/studies/${studyId}${qs ? `?${qs}` : ''}#audit`;
}


/**
 * The study's audit trail, for administrators (the page renders it for them only, and the loader
 * refuses anyone else). Filters and the page live in the URL.
 */
export async function StudyAuditSection({ actor, studyId, params }: { actor: Actor; studyId: string; params: AuditParams }) {
  let problem: string | null = null;
  let query;
  try {
    query = parseStudyAuditQuery(params);
  } catch (error) {
    if (!(error instanceof ZodError)) throw error;
    problem = error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    query = parseStudyAuditQuery({});
  }
  const trail = await loadStudyAuditTrail(actor, studyId, query);
  return (
    <section aria-labelledby="audit-heading" id="audit" data-testid="audit-section">
      <h2 id="audit-heading">Audit trail</h2>
      <div className="card">
        <form method="get" action={`/studies/${studyId}#audit`} className="row" aria-label="Audit filters">
          <AuditFilterSelect label="Action" name={PARAM.action} value={params.action} options={trail.actions} />
          <AuditFilterSelect label="Outcome" name={PARAM.outcome} value={params.outcome} options={AUDIT_OUTCOMES} />
          <label>
            Who (email or id)
            <input name={PARAM.actor} defaultValue={params.actor ?? ''} maxLength={254} />
          </label>
          <label>
            From
            <input name={PARAM.from} type="date" defaultValue={params.from ?? ''} />
          </label>
          <label>
            To
            <input name={PARAM.to} type="date" defaultValue={params.to ?? ''} />
          </label>
          <button type="submit" className="secondary">
            Filter trail
          </button>
          <Link href={`/studies/${studyId}#audit`}>Clear</Link>
        </form>
        {problem ? (
          <p role="alert" className="error">
            These filters are not valid and were ignored: {problem}
          </p>
        ) : null}
        {trail.entries.length === 0 ? (
          <p className="muted">No entries.</p>
        ) : (
          <table className="audit-table">
            <thead>
              <tr>
                <th>When</th>
                <th>Action</th>
                <th>Outcome</th>
                <th>Who</th>
                <th>From</th>
                <th>Details</th>
              </tr>
            </thead>
            <tbody>
              {trail.entries.map((e) => (
                <tr key={e.id} data-testid="audit-row">
                  <td className="nowrap">{formatDateTime(e.at)}</td>
                  <td>{e.action}</td>
                  <td>
                    <span className={`badge outcome-${e.outcome}`}>{e.outcome}</span>
                  </td>
                  <AuditActorCell entry={e} />
                  <td className="muted">{e.clientAddress ?? '—'}</td>
                  <td className="muted details">{describeAuditDetails(e.details)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        <AuditPagination total={trail.total} page={trail.page} pageSize={trail.pageSize} hrefOf={(p) => hrefFor(studyId, { ...params, page: String(p) })} />
      </div>
    </section>
  );
}
