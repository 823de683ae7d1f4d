import type { Metadata } from 'next';
import Link from 'next/link';
import { notFound } from 'next/navigation';
import { z } from 'zod';
import { actorFor, requireUser } from '@/lib/auth/session';
import { loadStudy } from '@/lib/studies/worklist';

export const metadata: Metadata = { title: 'Study' };

export default async function StudyPage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  const user = await requireUser(`/studies/${id}`);
  if (!z.string().uuid().safeParse(id).success) notFound();
  const study = await loadStudy(await actorFor(user), id);
  if (!study) notFound();
  return (
    <>
      <h1>{study.description || 'Study'}</h1>
      <p>
        <Link href={`/studies/${study.id}/view`} className="button-like" data-testid="open-viewer">
          Open viewer
        </Link>
      </p>
      <div className="card">
        <dl className="facts">
          <dt>Patient</dt>
          <dd data-testid="study-patient">{study.patient.name || '(no name)'}</dd>
          <dt>Patient ID</dt>
          <dd>{study.patient.patientKey}</dd>
          <dt>Study date</dt>
          <dd>{study.studyDate ?? '—'}</dd>
          <dt>Accession</dt>
          <dd>{study.accessionNumber ?? '—'}</dd>
          <dt>Modalities</dt>
          <dd>{study.modalities.join(', ') || '—'}</dd>
          <dt>Status</dt>
          <dd>
            <span className="badge">{study.status}</span>
          </dd>
          <dt>Study UID</dt>
          <dd className="muted">{study.studyInstanceUid}</dd>
        </dl>
      </div>
      <h2>Series</h2>
      <div className="card">
        <table>
          <thead>
            <tr>
              <th>#</th>
              <th>Modality</th>
              <th>Description</th>
              <th>Instances</th>
              <th>Format</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {study.series.map((s) => (
              <tr key={s.id} data-testid="series-row">
                <td>{s.seriesNumber ?? '—'}</td>
                <td>{s.modality ?? '—'}</td>
                <td>{s.description ?? '—'}</td>
                <td>{s.instances.length}</td>
                <td>{[...new Set(s.instances.map((i) => i.format))].join(', ')}</td>
                <td>
                  {s.instances.length > 0 ? (
                    <Link href={`/studies/${study.id}/view?series=${s.id}`} aria-label={`View series ${s.seriesNumber ?? ''} in the viewer`}>
                      View
                    </Link>
                  ) : null}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}
