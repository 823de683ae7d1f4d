import { and, asc, eq, inArray, or, sql } from 'drizzle-orm';
import type { Database, Executor } from '../index';
import { instances, patients, series, studies } from '../schema';

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

/** Which of these storage keys an instance references (as its file or its browser copy). */
export async function referencedStorageKeys(db: Executor, keys: string[]): Promise<Set<string>> {
  if (keys.length === 0) return new Set();
  const rows = await db
    .select({ key: instances.storageKey, browser: instances.browserStorageKey })
    .from(instances)
    .where(or(inArray(instances.storageKey, keys), inArray(instances.browserStorageKey, keys)));
  return new Set(rows.flatMap((r) => [r.key, r.browser]).filter((k): k is string => k !== null && keys.includes(k)));
}
