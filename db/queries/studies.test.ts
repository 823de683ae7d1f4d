import { randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { getDb } from '@/db';
import { patients, studies } from '@/db/schema';
import { advanceStudyStatus, type StudyStatus } from './studies';

async function studyIn(status: StudyStatus): Promise<string> {
  const db = await getDb();
  const [patient] = await db.insert(patients).values({ patientKey: randomUUID() }).returning();
  const [study] = await db.insert(studies).values({ patientId: patient!.id, studyInstanceUid: `2.25.${Date.now()}${Math.floor(Math.random() * 1e6)}`, status }).returning();
  return study!.id;
}

async function statusOf(id: string): Promise<StudyStatus> {
  const [row] = await (await getDb()).select({ status: studies.status }).from(studies).where(eq(studies.id, id));
  return row!.status;
}

describe('advanceStudyStatus', () => {
  it('moves forward along received → processing → processed → analysed → reported', async () => {
    const db = await getDb();
    const id = await studyIn('received');
    for (const to of ['processing', 'processed', 'analysed', 'reported'] as const) {
      expect(await advanceStudyStatus(db, id, to)).toBe(true);
      expect(await statusOf(id)).toBe(to);
    }
  });

  it('never moves back: re-processing or a late answer leaves a reported study reported', async () => {
    const db = await getDb();
    const id = await studyIn('reported');
    for (const to of ['processing', 'processed', 'analysed', 'failed'] as const) {
      expect(await advanceStudyStatus(db, id, to)).toBe(false);
    }
    expect(await statusOf(id)).toBe('reported');
  });

  it('fails only before processed, and a failed study may be processed again', async () => {
    const db = await getDb();
    const id = await studyIn('processing');
    expect(await advanceStudyStatus(db, id, 'failed')).toBe(true);
    expect(await advanceStudyStatus(db, id, 'processing')).toBe(true);
    expect(await advanceStudyStatus(db, id, 'processed')).toBe(true);
    expect(await advanceStudyStatus(db, id, 'failed')).toBe(false);
    expect(await statusOf(id)).toBe('processed');
  });
});
