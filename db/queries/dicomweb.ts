import { and, asc, eq, gte, ilike, inArray, like, lte, sql, type SQL } from 'drizzle-orm';
import type { PgColumn } from 'drizzle-orm/pg-core';
import type { Executor } from '../index';
import { instances, patients, series, studies } from '../schema';

/** A QIDO-RS match: a single value, or a pattern with `*` / `?` wildcards (already split). */
export type TextMatch = { kind: 'exact'; value: string } | { kind: 'wildcard'; pattern: string };

export interface QidoFilter {
  studyInstanceUids?: string[];
  patientId?: TextMatch;
  patientName?: TextMatch;
  accessionNumber?: TextMatch;
  studyDescription?: TextMatch;
  referringPhysicianName?: TextMatch;
  /** Inclusive YYYYMMDD bounds. */
  studyDateFrom?: string;
  studyDateTo?: string;
  modalitiesInStudy?: string[];
  seriesInstanceUids?: string[];
  modality?: string[];
  seriesNumber?: number;
  seriesDescription?: TextMatch;
  sopInstanceUids?: string[];
  sopClassUids?: string[];
  instanceNumber?: number;
}

function likePattern(pattern: string): string {
  return pattern.replace(/[\\%_]/g, (c) => `\\${c}`).replace(/\*/g, '%').replace(/\?/g, '_');
}

/** Person names match case-insensitively (as most archives do); other strings exactly. */
function textCondition(column: PgColumn | SQL, match: TextMatch | undefined, caseInsensitive = false): SQL | undefined {
  if (!match) return undefined;
  if (match.kind === 'exact') return caseInsensitive ? sql`lower(${column}) = lower(${match.value})` : sql`${column} = ${match.value}`;
  return caseInsensitive ? ilike(column as PgColumn, likePattern(match.pattern)) : like(column as PgColumn, likePattern(match.pattern));
}

function conditions(filter: QidoFilter): SQL[] {
  const where: (SQL | undefined)[] = [
    filter.studyInstanceUids?.length ? inArray(studies.studyInstanceUid, filter.studyInstanceUids) : undefined,
    textCondition(patients.patientKey, filter.patientId),
    textCondition(patients.name, filter.patientName, true),
    textCondition(studies.accessionNumber, filter.accessionNumber),
    textCondition(studies.description, filter.studyDescription, true),
    textCondition(studies.referringPhysician, filter.referringPhysicianName, true),
    filter.studyDateFrom ? gte(studies.studyDate, filter.studyDateFrom) : undefined,
    filter.studyDateTo ? lte(studies.studyDate, filter.studyDateTo) : undefined,
    filter.modalitiesInStudy?.length ? sql`${studies.modalities} && ${sql.param(filter.modalitiesInStudy)}::text[]` : undefined,
    filter.seriesInstanceUids?.length ? inArray(series.seriesInstanceUid, filter.seriesInstanceUids) : undefined,
    filter.modality?.length ? inArray(series.modality, filter.modality) : undefined,
    filter.seriesNumber !== undefined ? eq(series.seriesNumber, filter.seriesNumber) : undefined,
    textCondition(series.description, filter.seriesDescription, true),
    filter.sopInstanceUids?.length ? inArray(instances.sopInstanceUid, filter.sopInstanceUids) : undefined,
    filter.sopClassUids?.length ? inArray(instances.sopClassUid, filter.sopClassUids) : undefined,
    filter.instanceNumber !== undefined ? eq(instances.instanceNumber, filter.instanceNumber) : undefined,
  ];
  return where.filter((c): c is SQL => c !== undefined);
}

const hasSeriesFilter = (f: QidoFilter) => Boolean(f.seriesInstanceUids?.length || f.modality?.length || f.seriesNumber !== undefined || f.seriesDescription);
const hasInstanceFilter = (f: QidoFilter) => Boolean(f.sopInstanceUids?.length || f.sopClassUids?.length || f.instanceNumber !== undefined);

const studyColumns = {
  studyId: studies.id,
  studyInstanceUid: studies.studyInstanceUid,
  studyDate: studies.studyDate,
  studyTime: studies.studyTime,
  accessionNumber: studies.accessionNumber,
  studyDescription: studies.description,
  referringPhysician: studies.referringPhysician,
  modalities: studies.modalities,
  patientId: patients.id,
  patientKey: patients.patientKey,
  patientName: patients.name,
  patientBirthDate: patients.birthDate,
  patientSex: patients.sex,
};

export interface Page {
  limit: number;
  offset: number;
}

/** Studies matching the filter (series or instance keys match studies holding such series/instances). */
export async function qidoStudies(db: Executor, filter: QidoFilter, page: Page) {
  const where = conditions(filter);
  const deep = hasSeriesFilter(filter) || hasInstanceFilter(filter);
  const seriesCount = sql<number>`(select count(*)::int from ${series} where ${series.studyId} = ${studies.id})`;
  const instanceCount = sql<number>`(select count(*)::int from ${instances} join ${series} s2 on s2.id = ${instances.seriesId} where s2.study_id = ${studies.id})`;
  let query = db.selectDistinct({ ...studyColumns, seriesCount, instanceCount }).from(studies).innerJoin(patients, eq(patients.id, studies.patientId)).$dynamic();
  if (deep) query = query.innerJoin(series, eq(series.studyId, studies.id));
  if (hasInstanceFilter(filter)) query = query.innerJoin(instances, eq(instances.seriesId, series.id));
  return query
    .where(where.length ? and(...where) : undefined)
    .orderBy(sql`${studies.studyDate} desc nulls last`, asc(studies.studyInstanceUid))
    .limit(page.limit)
    .offset(page.offset);
}

export async function qidoSeries(db: Executor, filter: QidoFilter, page: Page) {
  const where = conditions(filter);
  const instanceCount = sql<number>`(select count(*)::int from ${instances} where ${instances.seriesId} = ${series.id})`;
  let query = db
    .selectDistinct({
      ...studyColumns,
      seriesId: series.id,
      seriesInstanceUid: series.seriesInstanceUid,
      modality: series.modality,
      seriesNumber: series.seriesNumber,
      seriesDescription: series.description,
      bodyPart: series.bodyPart,
      instanceCount,
    })
    .from(series)
    .innerJoin(studies, eq(studies.id, series.studyId))
    .innerJoin(patients, eq(patients.id, studies.patientId))
    .$dynamic();
  if (hasInstanceFilter(filter)) query = query.innerJoin(instances, eq(instances.seriesId, series.id));
  return query
    .where(where.length ? and(...where) : undefined)
    .orderBy(asc(studies.studyInstanceUid), sql`${series.seriesNumber} nulls last`, asc(series.seriesInstanceUid))
    .limit(page.limit)
    .offset(page.offset);
}

const instanceColumns = {
  ...studyColumns,
  seriesId: series.id,
  seriesInstanceUid: series.seriesInstanceUid,
  modality: series.modality,
  seriesNumber: series.seriesNumber,
  seriesDescription: series.description,
  bodyPart: series.bodyPart,
  instanceId: instances.id,
  sopInstanceUid: instances.sopInstanceUid,
  sopClassUid: instances.sopClassUid,
  instanceNumber: instances.instanceNumber,
  format: instances.format,
  transferSyntaxUid: instances.transferSyntaxUid,
  rows: instances.rows,
  columns: instances.columns,
  frames: instances.frames,
  metadata: instances.metadata,
};

export async function qidoInstances(db: Executor, filter: QidoFilter, page: Page) {
  const where = conditions(filter);
  return db
    .select(instanceColumns)
    .from(instances)
    .innerJoin(series, eq(series.id, instances.seriesId))
    .innerJoin(studies, eq(studies.id, series.studyId))
    .innerJoin(patients, eq(patients.id, studies.patientId))
    .where(where.length ? and(...where) : undefined)
    .orderBy(asc(studies.studyInstanceUid), sql`${series.seriesNumber} nulls last`, asc(series.seriesInstanceUid), sql`${instances.instanceNumber} nulls last`, asc(instances.sopInstanceUid))
    .limit(page.limit)
    .offset(page.offset);
}

/**
 * The instances a WADO-RS path names (a study, one of its series, or one instance in it), with
 * everything needed to serve them; empty when the path names nothing (or a mismatched hierarchy).
 */
export async function findRetrieveInstances(db: Executor, target: { studyInstanceUid: string; seriesInstanceUid?: string; sopInstanceUid?: string }) {
  const where = [eq(studies.studyInstanceUid, target.studyInstanceUid)];
  if (target.seriesInstanceUid) where.push(eq(series.seriesInstanceUid, target.seriesInstanceUid));
  if (target.sopInstanceUid) where.push(eq(instances.sopInstanceUid, target.sopInstanceUid));
  return db
    .select({ ...instanceColumns, storageKey: instances.storageKey, sha256: instances.sha256 })
    .from(instances)
    .innerJoin(series, eq(series.id, instances.seriesId))
    .innerJoin(studies, eq(studies.id, series.studyId))
    .innerJoin(patients, eq(patients.id, studies.patientId))
    .where(and(...where))
    .orderBy(sql`${series.seriesNumber} nulls last`, asc(series.seriesInstanceUid), sql`${instances.instanceNumber} nulls last`, asc(instances.sopInstanceUid));
}

export type QidoStudyRow = Awaited<ReturnType<typeof qidoStudies>>[number];
export type QidoSeriesRow = Awaited<ReturnType<typeof qidoSeries>>[number];
export type QidoInstanceRow = Awaited<ReturnType<typeof qidoInstances>>[number];
export type RetrieveRow = Awaited<ReturnType<typeof findRetrieveInstances>>[number];
