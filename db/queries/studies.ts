import { aliasedTable, and, asc, count, desc, eq, gte, ilike, inArray, isNull, lte, or, sql, type SQL } from 'drizzle-orm';
import type { Executor } from '../index';
import { analysisResults, instances, patients, series, studies, users } from '../schema';

export const STUDY_SORT_KEYS = ['studyDate', 'patientName', 'createdAt', 'modality', 'status', 'priority'] as const;
export type StudySortKey = (typeof STUDY_SORT_KEYS)[number];

export type StudyStatus = (typeof studies.status.enumValues)[number];
export type StudyPriority = (typeof studies.priority.enumValues)[number];

export interface StudyQuery {
  limit: number;
  offset: number;
  /** Free text over patient name, patient id, accession number and study description. */
  q?: string;
  patientName?: string;
  patientId?: string;
  accessionNumber?: string;
  /** DICOM dates, YYYYMMDD, inclusive. */
  dateFrom?: string;
  dateTo?: string;
  modality?: string;
  /** Any of these statuses. */
  status?: readonly StudyStatus[];
  /** Any of these priorities. */
  priority?: readonly StudyPriority[];
  /** Assigned to this user; `null` means unassigned. */
  assigneeId?: string | null;
  sort?: StudySortKey;
  order?: 'asc' | 'desc';
}

/** LIKE wildcards in user input are matched literally. */
export function escapeLike(value: string): string {
  return value.replace(/[\\%_]/g, (c) => `\\${c}`);
}

const seriesCount = sql<number>`(select count(*)::int from ${series} where ${series.studyId} = ${studies.id})`;
const instanceCount = sql<number>`(select count(*)::int from ${instances} join ${series} s2 on s2.id = ${instances.seriesId} where s2.study_id = ${studies.id})`;

export async function listStudies(db: Executor, query: StudyQuery) {
  const where: SQL[] = [];
  if (query.q) {
    const like = `%${escapeLike(query.q)}%`;
    where.push(or(ilike(patients.name, like), ilike(patients.patientKey, like), ilike(studies.accessionNumber, like), ilike(studies.description, like))!);
  }
  if (query.patientName) where.push(ilike(patients.name, `%${escapeLike(query.patientName)}%`));
  if (query.patientId) where.push(eq(patients.patientKey, query.patientId));
  if (query.accessionNumber) where.push(eq(studies.accessionNumber, query.accessionNumber));
  if (query.dateFrom) where.push(gte(studies.studyDate, query.dateFrom));
  if (query.dateTo) where.push(lte(studies.studyDate, query.dateTo));
  if (query.modality) where.push(sql`${query.modality} = any(${studies.modalities})`);
  if (query.status?.length) where.push(inArray(studies.status, [...query.status]));
  if (query.priority?.length) where.push(inArray(studies.priority, [...query.priority]));
  if (query.assigneeId === null) where.push(isNull(studies.assigneeId));
  else if (query.assigneeId) where.push(eq(studies.assigneeId, query.assigneeId));
  const condition = where.length ? and(...where) : undefined;

  const direction = query.order === 'asc' ? asc : desc;
  const sortColumn = {
    studyDate: studies.studyDate,
    patientName: patients.name,
    createdAt: studies.createdAt,
    modality: sql`${studies.modalities}[1]`,
    status: studies.status,
    // The enum is declared routine, urgent, stat: descending puts stat first.
    priority: studies.priority,
  }[query.sort ?? 'createdAt'];

  const rows = await db
    .select({
      id: studies.id,
      studyInstanceUid: studies.studyInstanceUid,
      studyDate: studies.studyDate,
      studyTime: studies.studyTime,
      description: studies.description,
      accessionNumber: studies.accessionNumber,
      modalities: studies.modalities,
      status: studies.status,
      priority: studies.priority,
      createdAt: studies.createdAt,
      updatedAt: studies.updatedAt,
      assignee: { id: users.id, name: users.name, email: users.email },
      seriesCount,
      instanceCount,
      patient: { id: patients.id, patientId: patients.patientKey, name: patients.name, birthDate: patients.birthDate, sex: patients.sex },
    })
    .from(studies)
    .innerJoin(patients, eq(patients.id, studies.patientId))
    .leftJoin(users, eq(users.id, studies.assigneeId))
    .where(condition)
    // Ties broken by id so that pages never overlap or skip rows.
    .orderBy(sql`${direction(sortColumn)} nulls last`, asc(studies.id))
    .limit(query.limit)
    .offset(query.offset);
  const [total] = await db
    .select({ n: count() })
    .from(studies)
    .innerJoin(patients, eq(patients.id, studies.patientId))
    .where(condition);
  return { rows, total: total?.n ?? 0 };
}

export async function getStudyDetail(db: Executor, id: string) {
  const [study] = await db
    .select({ study: studies, patient: patients })
    .from(studies)
    .innerJoin(patients, eq(patients.id, studies.patientId))
    .where(eq(studies.id, id));
  if (!study) return undefined;
  const seriesRows = await db
    .select()
    .from(series)
    .where(eq(series.studyId, id))
    .orderBy(sql`${series.seriesNumber} nulls last`, asc(series.createdAt));
  const instanceRows = seriesRows.length
    ? await db
        .select({
          id: instances.id,
          seriesId: instances.seriesId,
          sopInstanceUid: instances.sopInstanceUid,
          sopClassUid: instances.sopClassUid,
          instanceNumber: instances.instanceNumber,
          format: instances.format,
          transferSyntaxUid: instances.transferSyntaxUid,
          sizeBytes: instances.sizeBytes,
          sha256: instances.sha256,
          rows: instances.rows,
          columns: instances.columns,
          frames: instances.frames,
          createdAt: instances.createdAt,
        })
        .from(instances)
        .where(inArray(instances.seriesId, seriesRows.map((s) => s.id)))
        .orderBy(sql`${instances.instanceNumber} nulls last`, asc(instances.createdAt))
    : [];
  return {
    ...study.study,
    patient: study.patient,
    series: seriesRows.map((s) => ({ ...s, instances: instanceRows.filter((i) => i.seriesId === s.id) })),
  };
}

export async function findStudy(db: Executor, id: string) {
  const [row] = await db.select().from(studies).where(eq(studies.id, id)).limit(1);
  return row;
}

/** The workflow's forward order; `failed` sits outside it (processing found nothing renderable). */
export const STUDY_WORKFLOW = ['received', 'processing', 'processed', 'analysed', 'reported'] as const;

/**
 * Moves a study forward in its workflow and never back: re-processing a reported study, or a late
 * AI answer on a reported one, leaves it reported. `failed` is only set from before `processed`,
 * and a failed study may move on again (re-processing after a fix). Answers whether it changed.
 */
export async function advanceStudyStatus(db: Executor, studyId: string, to: StudyStatus): Promise<boolean> {
  const rank = (s: string) => sql`array_position(array['received','processing','processed','analysed','reported']::text[], ${s}::text)`;
  const current = sql`array_position(array['received','processing','processed','analysed','reported']::text[], ${studies.status}::text)`;
  const allowed =
    to === 'failed'
      ? sql`${studies.status} in ('received', 'processing')`
      : sql`(${studies.status} = 'failed' or ${current} < ${rank(to)})`;
  const rows = await db
    .update(studies)
    .set({ status: to })
    .where(and(eq(studies.id, studyId), allowed))
    .returning({ id: studies.id });
  return rows.length > 0;
}

/** Who may be assigned studies to read: active radiologists and administrators. */
export const ASSIGNEE_ROLES = ['admin', 'radiologist'] as const;

export async function listAssignees(db: Executor) {
  return db
    .select({ id: users.id, name: users.name, email: users.email, role: users.role })
    .from(users)
    .where(and(inArray(users.role, [...ASSIGNEE_ROLES]), eq(users.disabled, false)))
    .orderBy(asc(users.name), asc(users.email));
}

export async function findAssignee(db: Executor, userId: string) {
  const [row] = await db
    .select({ id: users.id, name: users.name, email: users.email, role: users.role })
    .from(users)
    .where(and(eq(users.id, userId), inArray(users.role, [...ASSIGNEE_ROLES]), eq(users.disabled, false)))
    .limit(1);
  return row;
}

/** The study's workflow fields, locked for the rest of the transaction. */
export async function lockStudyWorkflow(db: Executor, studyId: string) {
  const [row] = await db
    .select({ id: studies.id, patientId: studies.patientId, status: studies.status, priority: studies.priority, assigneeId: studies.assigneeId })
    .from(studies)
    .where(eq(studies.id, studyId))
    .for('update');
  return row;
}

export async function setStudyWorkflow(db: Executor, studyId: string, changes: { priority?: StudyPriority; assigneeId?: string | null }) {
  await db.update(studies).set(changes).where(eq(studies.id, studyId));
}

/** Workflow fields with the assignee's name, as the worklist and the API show them. */
export async function getStudyWorkflow(db: Executor, studyId: string) {
  const [row] = await db
    .select({
      id: studies.id,
      status: studies.status,
      priority: studies.priority,
      updatedAt: studies.updatedAt,
      assignee: { id: users.id, name: users.name, email: users.email },
    })
    .from(studies)
    .leftJoin(users, eq(users.id, studies.assigneeId))
    .where(eq(studies.id, studyId));
  return row;
}

const signers = aliasedTable(users, 'signers');

/** AI answers, reports and segmentations of a study, newest first, without their content. */
export async function listStudyAnalyses(db: Executor, studyId: string) {
  return db
    .select({
      id: analysisResults.id,
      kind: analysisResults.kind,
      status: analysisResults.status,
      model: analysisResults.model,
      seriesId: analysisResults.seriesId,
      instanceId: analysisResults.instanceId,
      author: { id: users.id, name: users.name },
      signedBy: { id: signers.id, name: signers.name },
      signedAt: analysisResults.signedAt,
      createdAt: analysisResults.createdAt,
      updatedAt: analysisResults.updatedAt,
    })
    .from(analysisResults)
    .leftJoin(users, eq(users.id, analysisResults.createdBy))
    .leftJoin(signers, eq(signers.id, analysisResults.signedBy))
    .where(eq(analysisResults.studyId, studyId))
    .orderBy(desc(analysisResults.createdAt), asc(analysisResults.id));
}
