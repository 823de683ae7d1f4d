import { and, eq, sql } from 'drizzle-orm';
import type { Executor } from '../index';
import { instances, patients, series, studies } from '../schema';

export interface CatalogEntry {
  patient: Omit<typeof patients.$inferInsert, 'id' | 'createdAt' | 'updatedAt'>;
  study: Omit<typeof studies.$inferInsert, 'id' | 'patientId' | 'createdAt' | 'updatedAt' | 'modalities'>;
  series: Omit<typeof series.$inferInsert, 'id' | 'studyId' | 'createdAt' | 'updatedAt'>;
  instance: Omit<typeof instances.$inferInsert, 'id' | 'seriesId' | 'createdAt'>;
}

export interface RegisteredInstance {
  patientId: string;
  studyId: string;
  seriesId: string;
  instanceId: string;
  /** The SOP instance was already stored; nothing was added. */
  duplicate: boolean;
}

/**
 * Files one instance under patient → study → series in a single transaction. Rows that already
 * exist are found, never overwritten: a re-upload cannot change what is stored.
 */
export async function registerInstance(db: Executor, entry: CatalogEntry): Promise<RegisteredInstance> {
  return db.transaction(async (tx) => {
    const [newPatient] = await tx.insert(patients).values(entry.patient).onConflictDoNothing().returning({ id: patients.id });
    const patientId =
      newPatient?.id ??
      (
        await tx
          .select({ id: patients.id })
          .from(patients)
          .where(and(eq(patients.patientKey, entry.patient.patientKey), eq(patients.issuer, entry.patient.issuer ?? '')))
      )[0]?.id;
    if (!patientId) throw new Error('patient row vanished during registration');

    const [newStudy] = await tx
      .insert(studies)
      .values({ ...entry.study, patientId })
      .onConflictDoNothing({ target: studies.studyInstanceUid })
      .returning({ id: studies.id, patientId: studies.patientId });
    const study =
      newStudy ??
      (
        await tx
          .select({ id: studies.id, patientId: studies.patientId })
          .from(studies)
          .where(eq(studies.studyInstanceUid, entry.study.studyInstanceUid))
      )[0];
    if (!study) throw new Error('study row vanished during registration');

    const [newSeries] = await tx
      .insert(series)
      .values({ ...entry.series, studyId: study.id })
      .onConflictDoNothing({ target: series.seriesInstanceUid })
      .returning({ id: series.id });
    const seriesId =
      newSeries?.id ??
      (await tx.select({ id: series.id }).from(series).where(eq(series.seriesInstanceUid, entry.series.seriesInstanceUid)))[0]?.id;
    if (!seriesId) throw new Error('series row vanished during registration');

    const [newInstance] = await tx
      .insert(instances)
      .values({ ...entry.instance, seriesId })
      .onConflictDoNothing({ target: instances.sopInstanceUid })
      .returning({ id: instances.id });
    if (!newInstance) {
      const [existing] = await tx
        .select({ id: instances.id, seriesId: instances.seriesId })
        .from(instances)
        .where(eq(instances.sopInstanceUid, entry.instance.sopInstanceUid));
      if (!existing) throw new Error('instance row vanished during registration');
      const [owner] = await tx
        .select({ studyId: series.studyId, patientId: studies.patientId })
        .from(series)
        .innerJoin(studies, eq(studies.id, series.studyId))
        .where(eq(series.id, existing.seriesId));
      return {
        patientId: owner?.patientId ?? study.patientId,
        studyId: owner?.studyId ?? study.id,
        seriesId: existing.seriesId,
        instanceId: existing.id,
        duplicate: true,
      };
    }

    if (entry.series.modality) {
      await tx
        .update(studies)
        .set({ modalities: sql`array(select distinct unnest(${studies.modalities} || array[${entry.series.modality}]::text[]) order by 1)` })
        .where(eq(studies.id, study.id));
    } else {
      await tx.update(studies).set({ updatedAt: new Date() }).where(eq(studies.id, study.id));
    }
    return { patientId: study.patientId, studyId: study.id, seriesId, instanceId: newInstance.id, duplicate: false };
  });
}
