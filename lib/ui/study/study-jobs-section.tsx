'use client';

import { useRouter } from 'next/navigation';
import { useEffect, useState, useTransition } from 'react';
import { reprocessStudyAction } from '@/app/(app)/actions';
import { ActionMessage } from '@/lib/ui/action-message';
import { formatDateTime } from '@/lib/ui/format';

export interface JobRowData {
  id: string;
  kind: string;
  status: string;
  progress: number;
  attempts: number;
  error: string | null;
  createdAt: string;
  finishedAt: string | null;
}

const isActive = (status: string) => status === 'queued' || status === 'running';
const POLL_MS = 2000;

/**
 * Processing jobs of the study. Active jobs are followed through GET /api/jobs/{id} (job state, no
 * patient data); when one finishes the page is refreshed once, so status and series catch up.
 */
export function StudyJobsSection({ studyId, jobs, canReprocess }: { studyId: string; jobs: JobRowData[]; canReprocess: boolean }) {
  const router = useRouter();
  const [live, setLive] = useState<Record<string, Partial<JobRowData>>>({});
  const [pending, startTransition] = useTransition();
  const [message, setMessage] = useState<{ ok?: string; error?: string }>({});
  const rows = jobs.map((j) => ({ ...j, ...live[j.id] }));
  const activeIds = rows.filter((j) => isActive(j.status)).map((j) => j.id).join(',');

  useEffect(() => {
    if (!activeIds) return;
    let stopped = false;
    const timer = setInterval(async () => {
      const updates = await Promise.all(
        activeIds.split(',').map(async (id) => {
          const res = await fetch(`/api/jobs/${id}`, { cache: 'no-store' }).catch(() => null);
          return res?.ok ? ((await res.json()) as JobRowData) : null;
        }),
      );
      if (stopped) return;
      const fresh = updates.filter((u): u is JobRowData => u !== null);
      setLive((prev) => ({ ...prev, ...Object.fromEntries(fresh.map((u) => [u.id, u])) }));
      if (fresh.some((u) => !isActive(u.status))) router.refresh();
    }, POLL_MS);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, [activeIds, router]);

  const reprocess = () =>
    startTransition(async () => {
      const result = await reprocessStudyAction(studyId);
      setMessage(result);
      router.refresh();
    });

  return (
    <section aria-labelledby="jobs-heading">
      <h2 id="jobs-heading">Processing jobs</h2>
      <div className="card">
        {rows.length === 0 ? (
          <p className="muted">No jobs yet.</p>
        ) : (
          <table>
            <thead>
              <tr>
                <th>Job</th>
                <th>Status</th>
                <th>Progress</th>
                <th>Attempts</th>
                <th>Error</th>
                <th>Queued</th>
                <th>Finished</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((j) => (
                <tr key={j.id} data-testid="job-row" data-status={j.status}>
                  <td>{j.kind}</td>
                  <td>
                    <span className={`badge job-${j.status}`}>{j.status}</span>
                  </td>
                  <td>
                    <progress max={100} value={j.progress} aria-label={`Progress of ${j.kind}`} /> {j.progress}%
                  </td>
                  <td>{j.attempts}</td>
                  <td className="error">{j.error ?? ''}</td>
                  <td className="muted nowrap">{formatDateTime(j.createdAt)}</td>
                  <td className="muted nowrap">{formatDateTime(j.finishedAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        {canReprocess ? (
          <p className="row">
            <button type="button" className="secondary" onClick={reprocess} disabled={pending || activeIds !== ''}>
              Re-process
            </button>
            <ActionMessage state={message} />
          </p>
        ) : null}
      </div>
    </section>
  );
}
