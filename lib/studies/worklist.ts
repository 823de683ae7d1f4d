import { getDb } from '@/db';
import { findStudy, getStudyDetail, getStudyWorkflow, listStudies, listStudyAnalyses, type StudyQuery } from '@/db/queries/studies';
import { auditPatientAccess, type Actor } from '@/lib/audit';
import { latestJobStatusByStudy, listJobsForStudy } from '@/lib/jobs';

/**
 * Studies are shared across the department: every signed-in role may read them. Reading them is
 * an access to patient data and is audited like one.
 */
export async function searchStudies(actor: Actor, query: StudyQuery) {
  return auditPatientAccess(
    actor,
    { action: 'study.search', resourceType: 'study', describe: (r) => ({ studyId: r.rows.length === 1 ? r.rows[0]!.id : null }) },
    async () => {
      const { rows, total } = await listStudies(await getDb(), query);
      const jobs = await latestJobStatusByStudy(rows.map((r) => r.id));
      return {
        total,
        rows: rows.map((r) => {
          const job = jobs[r.id];
          return { ...r, processing: job ? { jobId: job.jobId, status: job.status, progress: job.progress, error: job.error } : null };
        }),
      };
    },
  );
}

async function readStudyDetail(studyId: string) {
  const db = await getDb();
  const study = await getStudyDetail(db, studyId);
  if (!study) return null;
  const [workflow, analyses] = await Promise.all([getStudyWorkflow(db, studyId), listStudyAnalyses(db, studyId)]);
  const jobs = (await listJobsForStudy(studyId)).map((j) => ({
    id: j.id,
    kind: j.kind,
    status: j.status,
    progress: j.progress,
    attempts: j.attempts,
    error: j.error,
    result: j.result,
    createdAt: j.createdAt,
    finishedAt: j.finishedAt,
  }));
  return { ...study, assignee: workflow?.assignee ?? null, jobs, analyses };
}

/**
 * The study as it is after a change the caller just made and that was audited as such
 * (`study.update`): one request, one row, so the answer is not audited a second time.
 */
export async function loadChangedStudy(studyId: string) {
  return readStudyDetail(studyId);
}

/** A study with its patient, series, jobs, assignee and analyses (AI answers, reports, segmentations). */
export async function loadStudy(actor: Actor, studyId: string) {
  return auditPatientAccess(
    actor,
    { action: 'study.read', resourceType: 'study', resourceId: studyId, studyId, describe: (s) => ({ patientId: s.patientId }) },
    () => readStudyDetail(studyId),
  );
}

/** Whether a study exists, recorded as an access of the given kind (e.g. a processing request). */
export async function studyExists(actor: Actor, studyId: string, action: string): Promise<boolean> {
  const study = await auditPatientAccess(
    actor,
    { action, resourceType: 'study', resourceId: studyId, studyId, describe: (s) => ({ patientId: s.patientId }) },
    async () => (await findStudy(await getDb(), studyId)) ?? null,
  );
  return study !== null;
}
