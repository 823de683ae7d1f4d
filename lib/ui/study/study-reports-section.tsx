'use client';

import { useState, useTransition } from 'react';
import type { FormState } from '@/lib/ui/form-state';
import { FormMessage } from '@/lib/ui/form-message';
import { formatDateTime } from '@/lib/ui/format';

export interface ReportRowData {
  id: string;
  status: 'draft' | 'final';
  technique: string;
  findings: string;
  impression: string;
  notice: string;
  model: string | null;
  author: { name: string } | null;
  signedBy: { name: string } | null;
  signedAt: string | null;
  createdAt: string;
}

export interface ReportActions {
  generate: (studyId: string) => Promise<FormState>;
  save: (studyId: string, reportId: string, sections: unknown) => Promise<FormState>;
  sign: (studyId: string, reportId: string, sections: unknown) => Promise<FormState>;
}

const SECTIONS = [
  ['technique', 'Technique'],
  ['findings', 'Findings'],
  ['impression', 'Impression'],
] as const;

function DraftEditor({ studyId, report, actions }: { studyId: string; report: ReportRowData; actions: ReportActions }) {
  const [values, setValues] = useState({ technique: report.technique, findings: report.findings, impression: report.impression });
  const [state, setState] = useState<FormState>({});
  const [pending, start] = useTransition();
  const run = (action: 'save' | 'sign') =>
    start(async () => {
      if (action === 'sign' && !window.confirm('Sign this report? A signed report is final and cannot be changed.')) return;
      setState(await actions[action](studyId, report.id, values));
    });
  return (
    <form className="report-form" onSubmit={(e) => e.preventDefault()} data-testid="report-editor">
      {SECTIONS.map(([key, label]) => (
        <label key={key}>
          {label}
          <textarea
            name={key}
            data-testid={`report-${key}`}
            rows={key === 'findings' ? 8 : 3}
            value={values[key]}
            onChange={(e) => setValues((v) => ({ ...v, [key]: e.target.value }))}
          />
        </label>
      ))}
      <div className="row">
        <button type="button" className="secondary" disabled={pending} onClick={() => run('save')} data-testid="report-save">
          Save draft
        </button>
        <button type="button" disabled={pending} onClick={() => run('sign')} data-testid="report-sign">
          Sign report
        </button>
        <FormMessage state={state} />
      </div>
    </form>
  );
}

function FinalReport({ report }: { report: ReportRowData }) {
  return (
    <div className="report-text" data-testid="report-final">
      {SECTIONS.map(([key, label]) => (
        <div key={key}>
          <h3>{label}</h3>
          <p data-testid={`report-${key}-text`}>{report[key]}</p>
        </div>
      ))}
    </div>
  );
}

/**
 * Reports of the study: "Generate report" drafts one with Gemini; radiologists and administrators
 * edit and sign drafts; final reports are read-only and export as PDF or text.
 */
export function StudyReportsSection({
  studyId,
  reports,
  canWrite,
  aiConfigured,
  actions,
}: {
  studyId: string;
  reports: ReportRowData[];
  canWrite: boolean;
  aiConfigured: boolean;
  actions: ReportActions;
}) {
  const [state, setState] = useState<FormState>({});
  const [pending, start] = useTransition();
  return (
    <section aria-labelledby="reports-heading" id="reports">
      <h2 id="reports-heading">Reports</h2>
      <div className="card">
        {canWrite ? (
          <div className="row" style={{ marginBottom: 12 }}>
            <button type="button" data-testid="report-generate" disabled={pending || !aiConfigured} onClick={() => start(async () => setState(await actions.generate(studyId)))}>
              {pending ? 'Drafting…' : 'Generate report'}
            </button>
            {!aiConfigured ? (
              <span className="muted" data-testid="report-ai-not-configured">
                AI analysis is not configured on this server, so reports cannot be drafted.
              </span>
            ) : null}
            <FormMessage state={state} errorTestId="report-generate-error" />
          </div>
        ) : null}
        {reports.length === 0 ? <p className="muted">No reports yet.</p> : null}
        {reports.map((report) => (
          <article key={report.id} className="report" data-testid="report" data-report-id={report.id} data-status={report.status}>
            <div className="row">
              <span className={`badge analysis-${report.status}`}>{report.status}</span>
              <span className="muted small">
                Drafted by {report.author?.name ?? 'system'} with {report.model ?? 'AI'}, {formatDateTime(new Date(report.createdAt))}
                {report.signedAt ? ` · signed by ${report.signedBy?.name ?? '—'}, ${formatDateTime(new Date(report.signedAt))}` : ''}
              </span>
              <a href={`/api/reports/${report.id}/export?format=pdf`} data-testid="report-export-pdf">
                PDF
              </a>
              <a href={`/api/reports/${report.id}/export?format=txt`} data-testid="report-export-txt">
                Text
              </a>
            </div>
            <p className="ai-notice" data-testid="report-notice">
              {report.notice}
            </p>
            {report.status === 'draft' && canWrite ? <DraftEditor studyId={studyId} report={report} actions={actions} /> : <FinalReport report={report} />}
          </article>
        ))}
      </div>
    </section>
  );
}
