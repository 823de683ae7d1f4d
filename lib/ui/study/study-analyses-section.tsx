import { formatDateTime } from '@/lib/ui/format';

export interface AnalysisRowData {
  id: string;
  kind: 'ai_answer' | 'report' | 'segmentation';
  status: string;
  model: string | null;
  author: { name: string } | null;
  signedBy: { name: string } | null;
  signedAt: Date | null;
  createdAt: Date;
}

const KIND_LABELS: Record<AnalysisRowData['kind'], string> = { ai_answer: 'AI answer', report: 'Report', segmentation: 'Segmentation' };

function AnalysisTable({ rows, testId }: { rows: AnalysisRowData[]; testId: string }) {
  return (
    <table>
      <thead>
        <tr>
          <th>Kind</th>
          <th>Status</th>
          <th>Model / engine</th>
          <th>Author</th>
          <th>Created</th>
          <th>Signed</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((a) => (
          <tr key={a.id} data-testid={testId} data-analysis-id={a.id}>
            <td>{KIND_LABELS[a.kind]}</td>
            <td>
              <span className={`badge analysis-${a.status}`}>{a.status}</span>
            </td>
            <td>{a.model ?? '—'}</td>
            <td>{a.author?.name ?? <span className="muted">system</span>}</td>
            <td className="muted nowrap">{formatDateTime(a.createdAt)}</td>
            <td className="muted">{a.signedAt ? `${a.signedBy?.name ?? '—'}, ${formatDateTime(a.signedAt)}` : '—'}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** AI answers and reports of the study (analysis_results), newest first. */
export function StudyAnalysesSection({ analyses }: { analyses: AnalysisRowData[] }) {
  const rows = analyses.filter((a) => a.kind === 'ai_answer' || a.kind === 'report');
  return (
    <section aria-labelledby="analyses-heading" id="analyses">
      <h2 id="analyses-heading">AI results and reports</h2>
      <div className="card">{rows.length === 0 ? <p className="muted">No AI results or reports yet.</p> : <AnalysisTable rows={rows} testId="analysis-row" />}</div>
    </section>
  );
}

/** Segmentations of the study (analysis_results of kind segmentation), newest first. */
export function StudySegmentationsSection({ analyses }: { analyses: AnalysisRowData[] }) {
  const rows = analyses.filter((a) => a.kind === 'segmentation');
  return (
    <section aria-labelledby="segmentations-heading" id="segmentations">
      <h2 id="segmentations-heading">Segmentations</h2>
      <div className="card">{rows.length === 0 ? <p className="muted">No segmentations yet.</p> : <AnalysisTable rows={rows} testId="segmentation-row" />}</div>
    </section>
  );
}
