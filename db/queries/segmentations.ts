import { and, desc, eq } from 'drizzle-orm';
import type { Executor } from '../index';
import { analysisResults, processingJobs, studies, type AnalysisResult, type ProcessingJob } from '../schema';

type NewAnalysisResult = typeof analysisResults.$inferInsert;

export async function insertSegmentation(db: Executor, values: Omit<NewAnalysisResult, 'kind'>): Promise<AnalysisResult> {
  const [row] = await db
    .insert(analysisResults)
    .values({ ...values, kind: 'segmentation' })
    .returning();
  if (!row) throw new Error('segmentation insert returned no row');
  return row;
}

/** A segmentation with the patient it belongs to (for the audit trail); undefined when unknown. */
export async function findSegmentation(db: Executor, id: string): Promise<{ result: AnalysisResult; patientId: string } | undefined> {
  const [row] = await db
    .select({ result: analysisResults, patientId: studies.patientId })
    .from(analysisResults)
    .innerJoin(studies, eq(studies.id, analysisResults.studyId))
    .where(and(eq(analysisResults.id, id), eq(analysisResults.kind, 'segmentation')))
    .limit(1);
  return row;
}

/** Newest first, each with the job that computes it (when the job still exists). */
export async function listSegmentationsByStudy(db: Executor, studyId: string): Promise<{ result: AnalysisResult; job: ProcessingJob | null }[]> {
  const rows = await db
    .select({ result: analysisResults })
    .from(analysisResults)
    .where(and(eq(analysisResults.studyId, studyId), eq(analysisResults.kind, 'segmentation')))
    .orderBy(desc(analysisResults.createdAt), desc(analysisResults.id));
  const jobs = await db.select().from(processingJobs).where(and(eq(processingJobs.studyId, studyId), eq(processingJobs.kind, 'segment-series')));
  const byId = new Map(jobs.map((j) => [j.id, j]));
  return rows.map(({ result }) => ({ result, job: byId.get(String(result.content.jobId)) ?? null }));
}

export async function updateSegmentation(db: Executor, id: string, values: Partial<Pick<NewAnalysisResult, 'status' | 'content' | 'model' | 'durationMs'>>): Promise<AnalysisResult | undefined> {
  const [row] = await db.update(analysisResults).set(values).where(eq(analysisResults.id, id)).returning();
  return row;
}
