import { count, desc, eq } from 'drizzle-orm';
import type { Executor } from '../index';
import { patients, studies } from '../schema';

export async function listStudies(db: Executor, options: { limit: number; offset: number }) {
  const rows = await db
    .select({
      id: studies.id,
      studyDate: studies.studyDate,
      description: studies.description,
      accessionNumber: studies.accessionNumber,
      modalities: studies.modalities,
      status: studies.status,
      priority: studies.priority,
      createdAt: studies.createdAt,
      patient: { id: patients.id, patientKey: patients.patientKey, name: patients.name },
    })
    .from(studies)
    .innerJoin(patients, eq(patients.id, studies.patientId))
    .orderBy(desc(studies.createdAt))
    .limit(options.limit)
    .offset(options.offset);
  const [total] = await db.select({ n: count() }).from(studies);
  return { rows, total: total?.n ?? 0 };
}
