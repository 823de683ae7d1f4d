import Link from 'next/link';
import type { StudyPriority, StudyStatus } from '@/db/queries/studies';
import { formatDicomDate } from '@/lib/ui/format';
import { PriorityBadge, StudyStatusBadge } from '@/lib/ui/status-badges';

export interface StudyHeaderData {
  id: string;
  description: string | null;
  studyDate: string | null;
  accessionNumber: string | null;
  modalities: string[];
  referringPhysician: string | null;
  studyInstanceUid: string;
  status: StudyStatus;
  priority: StudyPriority;
  assignee: { name: string } | null;
  patient: { name: string | null; patientKey: string; birthDate: string | null; sex: string | null };
}

/** Who the study is of and what it is: patient and study facts, status, priority, assignee. */
export function StudyHeader({ study }: { study: StudyHeaderData }) {
  return (
    <section aria-label="Study" className="study-header">
      <div className="study-title">
        <h1>{study.description || 'Study'}</h1>
        <StudyStatusBadge status={study.status} />
        <PriorityBadge priority={study.priority} />
        <Link href={`/studies/${study.id}/view`} className="button-like" data-testid="open-viewer">
          Open viewer
        </Link>
      </div>
      <div className="card facts-grid">
        <dl className="facts">
          <dt>Patient</dt>
          <dd data-testid="study-patient">{study.patient.name || '(no name)'}</dd>
          <dt>Patient ID</dt>
          <dd>{study.patient.patientKey}</dd>
          <dt>Birth date</dt>
          <dd>{formatDicomDate(study.patient.birthDate)}</dd>
          <dt>Sex</dt>
          <dd>{study.patient.sex || '—'}</dd>
        </dl>
        <dl className="facts">
          <dt>Study date</dt>
          <dd>{formatDicomDate(study.studyDate)}</dd>
          <dt>Accession</dt>
          <dd>{study.accessionNumber ?? '—'}</dd>
          <dt>Modalities</dt>
          <dd>{study.modalities.join(', ') || '—'}</dd>
          <dt>Referring physician</dt>
          <dd>{study.referringPhysician || '—'}</dd>
          <dt>Assignee</dt>
          <dd data-testid="header-assignee">{study.assignee?.name ?? 'unassigned'}</dd>
          <dt>Study UID</dt>
          <dd className="muted">{study.studyInstanceUid}</dd>
        </dl>
      </div>
    </section>
  );
}
