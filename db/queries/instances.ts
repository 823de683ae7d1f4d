import { and, asc, eq, getTableColumns, inArray, or, sql } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';
import type { Database, Executor } from '../index';
import { instances, patients, series, studies } from '../schema';
import type { StatementAudit } from './audit';

const instanceWithContext = {
  instance: instances,
  seriesId: series.id,
  modality: series.modality,
  studyId: studies.id,
  patientId: studies.patientId,
};

function prepareStudyInstance(db: Database, by: { instance: boolean; series: boolean }) {
  const where = [eq(studies.id, sql.placeholder('studyId'))];
  if (by.instance) where.push(eq(instances.id, sql.placeholder('instanceId')));
  if (by.series) where.push(eq(series.id, sql.placeholder('seriesId')));
  return db
    .select(instanceWithContext)
    .from(instances)
    .innerJoin(series, eq(series.id, instances.seriesId))
    .innerJoin(studies, eq(studies.id, series.studyId))
    .where(and(...where))
    .orderBy(sql`${series.seriesNumber} nulls last`, asc(series.createdAt), sql`${instances.instanceNumber} nulls last`, asc(instances.createdAt))
    .offset(sql.placeholder('offset'))
    .limit(1)
    .prepare(`study_instance_${by.instance ? 'i' : ''}${by.series ? 's' : ''}`);
}

// Every image request runs this: prepared once per database and selector combination.
const studyInstanceStatements = new WeakMap<Database, Map<string, ReturnType<typeof prepareStudyInstance>>>();

/**
 * The instance an image request points at, inside one study: by id, or by position in a series
 * (instance number order), defaulting to the first series and its first instance.
 */
export async function findStudyInstance(db: Database, studyId: string, select: { instanceId?: string; seriesId?: string; index?: number }) {
  const by = { instance: !!select.instanceId, series: !!select.seriesId };
  const key = `${by.instance}:${by.series}`;
  let statements = studyInstanceStatements.get(db);
  if (!statements) studyInstanceStatements.set(db, (statements = new Map()));
  let statement = statements.get(key);
  if (!statement) statements.set(key, (statement = prepareStudyInstance(db, by)));
  const rows = await statement.execute({
    studyId,
    instanceId: select.instanceId,
    seriesId: select.seriesId,
    offset: select.instanceId ? 0 : (select.index ?? 0),
  });
  return rows[0];
}

export async function listStudyInstances(db: Executor, studyId: string) {
  return db
    .select(instanceWithContext)
    .from(instances)
    .innerJoin(series, eq(series.id, instances.seriesId))
    .innerJoin(studies, eq(studies.id, series.studyId))
    .where(eq(studies.id, studyId))
    .orderBy(sql`${series.seriesNumber} nulls last`, sql`${instances.instanceNumber} nulls last`, asc(instances.createdAt));
}

/** An instance with its series, study and patient, for file and tag requests. */
export async function findInstanceWithContext(db: Executor, instanceId: string) {
  const [row] = await db
    .select({ instance: instances, series, study: studies, patient: patients })
    .from(instances)
    .innerJoin(series, eq(series.id, instances.seriesId))
    .innerJoin(studies, eq(studies.id, series.studyId))
    .innerJoin(patients, eq(patients.id, studies.patientId))
    .where(eq(instances.id, instanceId));
  return row;
}

const instanceColumns = Object.entries(getTableColumns(instances));

/**
 * findStudyInstance and the audit row of that access in one statement (one round trip, one
 * commit): the row says success with the study's patient when the instance exists, failure
 * ({ reason: 'not_found' }) when it does not. A data-modifying WITH runs to completion whatever
 * the query reads, so the row is written whenever the lookup answers, before anyone sees data.
 */
function prepareAudited(db: Database, by: { instance: boolean; series: boolean }) {
  const p = (name: string) => sql.placeholder(name);
  const where = [sql`st.id = ${p('studyId')}`];
  if (by.instance) where.push(sql`i.id = ${p('instanceId')}`);
  if (by.series) where.push(sql`s.id = ${p('seriesId')}`);
  const query = sql`
    with target as (
      select i.*, s.id as "x_series_id", s.modality as "x_modality", st.id as "x_study_id", st.patient_id as "x_patient_id"
      from instances i join series s on s.id = i.series_id join studies st on st.id = s.study_id
      where ${sql.join(where, sql` and `)}
      order by s.series_number nulls last, s.created_at, i.instance_number nulls last, i.created_at
      offset ${p('offset')} limit 1
    ), logged as (
      insert into audit_log (action, outcome, user_id, user_email, role, token_id, client_address, user_agent, patient_id, study_id, resource_type, resource_id, details,
        event_id, event_type_code, event_action_code, event_outcome_indicator)
      select ${p('action')}::text, (case when t.id is null then 'failure' else 'success' end)::audit_outcome, ${p('userId')}::uuid, ${p('userEmail')}::text,
        ${p('role')}::text, ${p('tokenId')}::uuid, ${p('clientAddress')}::inet, ${p('userAgent')}::text, t.x_patient_id, ${p('studyId')}::uuid,
        ${p('resourceType')}::text, ${p('resourceId')}::text, case when t.id is null then '{"reason":"not_found"}'::jsonb else '{}'::jsonb end,
        ${p('eventId')}::text, ${p('eventTypeCode')}::text, ${p('eventActionCode')}::text,
        (case when t.id is null then ${p('outcomeIndicatorMissing')}::smallint else ${p('outcomeIndicatorFound')}::smallint end)
      from (select 1) as one left join target t on true
    )
    select * from target`;
  // A named prepared statement: planned once per connection, not on every image.
  return db._.session.prepareQuery(dialect.sqlToQuery(query), undefined, `study_instance_audited_${by.instance ? 'i' : ''}${by.series ? 's' : ''}`, false);
}

const dialect = new PgDialect();
const auditedStatements = new WeakMap<Database, Map<string, ReturnType<typeof prepareAudited>>>();

/**
 * findStudyInstance and the audit row of that access in one statement (one round trip, one
 * commit): the row says success with the study's patient when the instance exists, failure
 * ({ reason: 'not_found' }) when it does not. A data-modifying WITH runs to completion whatever
 * the query reads, so the row is written whenever the lookup answers, before anyone sees data.
 */
export async function findStudyInstanceAudited(db: Database, studyId: string, select: { instanceId?: string; seriesId?: string; index?: number }, audit: StatementAudit) {
  const by = { instance: !!select.instanceId, series: !!select.seriesId };
  const key = `${by.instance}:${by.series}`;
  let statements = auditedStatements.get(db);
  if (!statements) auditedStatements.set(db, (statements = new Map()));
  let statement = statements.get(key);
  if (!statement) statements.set(key, (statement = prepareAudited(db, by)));
  const result = await statement.execute({
    ...audit,
    studyId,
    instanceId: select.instanceId,
    seriesId: select.seriesId,
    offset: select.instanceId ? 0 : (select.index ?? 0),
  });
  const rows = (Array.isArray(result) ? result : (result as { rows: unknown[] }).rows) as Record<string, unknown>[];
  const row = rows[0];
  if (!row) return undefined;
  const instance = Object.fromEntries(instanceColumns.map(([key, column]) => [key, row[column.name] === null ? null : column.mapFromDriverValue(row[column.name])])) as typeof instances.$inferSelect;
  return { instance, seriesId: row.x_series_id as string, modality: row.x_modality as string | null, studyId: row.x_study_id as string, patientId: row.x_patient_id as string };
}

/** Which of these storage keys an instance references (as its file or its browser copy). */
export async function referencedStorageKeys(db: Executor, keys: string[]): Promise<Set<string>> {
  if (keys.length === 0) return new Set();
  const rows = await db
    .select({ key: instances.storageKey, browser: instances.browserStorageKey })
    .from(instances)
    .where(or(inArray(instances.storageKey, keys), inArray(instances.browserStorageKey, keys)));
  return new Set(rows.flatMap((r) => [r.key, r.browser]).filter((k): k is string => k !== null && keys.includes(k)));
}
