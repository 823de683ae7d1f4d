import { and, asc, desc, eq, inArray, sql } from 'drizzle-orm';
import type { Executor } from '../index';
import { analysisResults, patients, series, studies, users, type AnalysisResult } from '../schema';

type NewAnalysisResult = typeof analysisResults.$inferInsert;

/** What the AI features need of a study: the catalogue facts (the allow-list comes from these) and its series. */
export async function findStudyForAi(db: Executor, studyId: string) {
  const [row] = await db
    .select({ study: studies, patient: patients })
    .from(studies)
    .innerJoin(patients, eq(patients.id, studies.patientId))
    .where(eq(studies.id, studyId))
    .limit(1);
  if (!row) return undefined;
  const seriesRows = await db
    .select()
    .from(series)
    .where(eq(series.studyId, studyId))
    .orderBy(sql`${series.seriesNumber} nulls last`, asc(series.createdAt));
  return { ...row, series: seriesRows };
}

export async function insertAnalysis(db: Executor, values: NewAnalysisResult): Promise<AnalysisResult> {
  const [row] = await db.insert(analysisResults).values(values).returning();
  if (!row) throw new Error('analysis insert returned no row');
  return row;
}

/** An AI answer or a report with its patient (for the audit trail) and the names of who wrote and signed it. */
export async function findAnalysis(db: Executor, id: string, kind: 'ai_answer' | 'report') {
  const [row] = await db
    .select({ result: analysisResults, patientId: studies.patientId })
    .from(analysisResults)
    .innerJoin(studies, eq(studies.id, analysisResults.studyId))
    .where(and(eq(analysisResults.id, id), eq(analysisResults.kind, kind)))
    .limit(1);
  if (!row) return undefined;
  return { ...row, people: await peopleOf(db, [row.result]) };
}

/** Earlier turns of a conversation (its first answer's id), oldest first. */
export async function listConversation(db: Executor, studyId: string, conversationId: string): Promise<AnalysisResult[]> {
  return db
    .select()
    .from(analysisResults)
    .where(
      and(
        eq(analysisResults.studyId, studyId),
        eq(analysisResults.kind, 'ai_answer'),
        sql`(${analysisResults.id} = ${conversationId} or ${analysisResults.content}->>'conversationId' = ${conversationId})`,
      ),
    )
    .orderBy(asc(analysisResults.createdAt), asc(analysisResults.id))
    .limit(50);
}

export async function listAnalysesByStudy(db: Executor, studyId: string, kind: 'ai_answer' | 'report') {
  const rows = await db
    .select()
    .from(analysisResults)
    .where(and(eq(analysisResults.studyId, studyId), eq(analysisResults.kind, kind)))
    .orderBy(desc(analysisResults.createdAt), desc(analysisResults.id))
    .limit(200);
  return { rows, people: await peopleOf(db, rows) };
}

async function peopleOf(db: Executor, rows: AnalysisResult[]): Promise<Map<string, { id: string; name: string; email: string }>> {
  const ids = [...new Set(rows.flatMap((r) => [r.createdBy, r.signedBy]).filter((v): v is string => !!v))];
  if (ids.length === 0) return new Map();
  const found = await db.select({ id: users.id, name: users.name, email: users.email }).from(users).where(inArray(users.id, ids));
  return new Map(found.map((u) => [u.id, u]));
}

/** Changes a draft report's text; undefined when it is not (or no longer) a draft. */
export async function updateDraftReport(db: Executor, id: string, content: Record<string, unknown>): Promise<AnalysisResult | undefined> {
  const [row] = await db
    .update(analysisResults)
    .set({ content })
    .where(and(eq(analysisResults.id, id), eq(analysisResults.kind, 'report'), eq(analysisResults.status, 'draft')))
    .returning();
  return row;
}

/** draft → final, once; undefined when the report is not a draft any more. */
export async function markReportFinal(db: Executor, id: string, signedBy: string, content: Record<string, unknown>): Promise<AnalysisResult | undefined> {
  const [row] = await db
    .update(analysisResults)
    .set({ status: 'final', signedBy, signedAt: new Date(), content })
    .where(and(eq(analysisResults.id, id), eq(analysisResults.kind, 'report'), eq(analysisResults.status, 'draft')))
    .returning();
  return row;
}
