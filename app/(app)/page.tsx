import type { Metadata } from 'next';
import { actorFor, requireUser } from '@/lib/auth/session';
import { loadWorklist } from '@/lib/studies/worklist';

export const metadata: Metadata = { title: 'Worklist' };

export default async function WorklistPage() {
  const user = await requireUser('/');
  const { rows, total } = await loadWorklist(await actorFor(user));
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
              </tr>
            </thead>
            <tbody>
              {rows.map((s) => (
                <tr key={s.id}>
                  <td>{s.patient.name}</td>
                  <td>{s.patient.patientKey}</td>
                  <td>{s.studyDate}</td>
                  <td>{s.modalities.join(', ')}</td>
                  <td>{s.description}</td>
                  <td>
                    <span className="badge">{s.status}</span>
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
