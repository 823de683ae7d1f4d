import { and, asc, eq, sql } from 'drizzle-orm';
import type { Executor } from '../index';
import { instances, patients, series, studies } from '../schema';

const instanceWithContext = {
  instance: instances,
  seriesId: series.id,
  modality: series.modality,
  studyId: studies.id,
  patientId: studies.patientId,
};

/**
 * The instance an image request points at, inside one study: by id, or by position in a series
 * (instance number order), defaulting to the first series and its first instance.
 */
export async function findStudyInstance(db: Executor, studyId: string, select: { instanceId?: string; seriesId?: string; index?: number }) {
  const where = [eq(studies.id, studyId)];
  if (select.instanceId) where.push(eq(instances.id, select.instanceId));
  if (select.seriesId) where.push(eq(series.id, select.seriesId));
  const rows = await db
    .select(instanceWithContext)
    .from(instances)
    .innerJoin(series, eq(series.id, instances.seriesId))
    .innerJoin(studies, eq(studies.id, series.studyId))
    .where(and(...where))
    .orderBy(sql`${series.seriesNumber} nulls last`, asc(series.createdAt), sql`${instances.instanceNumber} nulls last`, asc(instances.createdAt))
    .offset(select.instanceId ? 0 : (select.index ?? 0))
    .limit(1);
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
