import type { Metadata } from 'next';
import Link from 'next/link';
import { actorFor, requireUser } from '@/lib/auth/session';
import { searchStudies } from '@/lib/studies/worklist';

export const metadata: Metadata = { title: 'Worklist' };

export default async function WorklistPage() {
  const user = await requireUser('/');
  const { rows, total } = await searchStudies(await actorFor(user), { limit: 50, offset: 0 });
  return (
    <>
      <h1>Worklist</h1>
      <div className="card">
        {rows.length === 0 ? (
          <p className="empty">No studies yet.</p>
        ) : (
          <table>
            <thead>
              <tr>
                <th>Patient</th>
                <th>Patient ID</th>
                <th>Date</th>
                <th>Modality</th>
                <th>Description</th>
                <th>Status</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {rows.map((s) => (
                <tr key={s.id}>
                  <td>
                    <Link href={`/studies/${s.id}`}>{s.patient.name || '(no name)'}</Link>
                  </td>
                  <td>{s.patient.patientId}</td>
                  <td>{s.studyDate}</td>
                  <td>{s.modalities.join(', ')}</td>
                  <td>{s.description}</td>
                  <td>
                    <span className="badge" data-testid="study-status">
                      {s.processing && (s.processing.status === 'queued' || s.processing.status === 'running')
                        ? `processing ${s.processing.progress}%`
                        : s.status}
                    </span>
                  </td>
                  <td>
                    <Link href={`/studies/${s.id}/view`} data-testid="worklist-view" aria-label={`View ${s.patient.name || 'study'} in the viewer`}>
                      View
                    </Link>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        <p className="muted">{total} studies</p>
      </div>
    </>
  );
}
