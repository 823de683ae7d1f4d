import { getDb } from '@/db';
import { getStudyDetail, listStudies, type StudyQuery } from '@/db/queries/studies';
import { auditPatientAccess, type Actor } from '@/lib/audit';

/**
 * Studies are shared across the department: every signed-in role may read them. Reading them is
 * an access to patient data and is audited like one.
 */
export async function searchStudies(actor: Actor, query: StudyQuery) {
  return auditPatientAccess(
    actor,
    { action: 'study.search', resourceType: 'study', describe: (r) => ({ studyId: r.rows.length === 1 ? r.rows[0]!.id : null }) },
    async () => listStudies(await getDb(), query),
  );
}

export async function loadStudy(actor: Actor, studyId: string) {
  return auditPatientAccess(
    actor,
    { action: 'study.read', resourceType: 'study', resourceId: studyId, studyId, describe: (s) => ({ patientId: s.patientId }) },
    async () => (await getStudyDetail(await getDb(), studyId)) ?? null,
  );
}
