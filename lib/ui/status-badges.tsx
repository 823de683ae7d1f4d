import type { StudyPriority, StudyStatus } from '@/db/queries/studies';

/** The study's workflow status; while a job runs, its progress. */
export function StudyStatusBadge({ status, processing }: { status: StudyStatus; processing?: { status: string; progress: number } | null }) {
  const active = processing && (processing.status === 'queued' || processing.status === 'running');
  return (
    <span className={`badge status-${active ? 'processing' : status}`} data-testid="study-status" data-status={status}>
      {active ? `processing ${processing.progress}%` : status}
    </span>
  );
}

export function PriorityBadge({ priority }: { priority: StudyPriority }) {
  return (
    <span className={`badge priority-${priority}`} data-testid="study-priority">
      {priority}
    </span>
  );
}
