import { randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { getDb } from '@/db';
import { auditLog } from '@/db/schema';
import { notFound } from '@/lib/api/errors';
import { actorOfUser, createTestUser } from '@/lib/testing/fixtures';
import { auditPatientAccess, recordAudit } from './index';

async function rowsForResource(resourceId: string) {
  return (await getDb()).select().from(auditLog).where(eq(auditLog.resourceId, resourceId)).orderBy(auditLog.id);
}

describe('recordAudit', () => {
  it('writes who, role, address, action, patient/study, time and outcome', async () => {
    const user = await createTestUser('radiologist');
    const patientId = randomUUID();
    const studyId = randomUUID();
    const resourceId = randomUUID();
    const before = Date.now();
    await recordAudit(actorOfUser(user, '198.51.100.23'), {
      action: 'study.read',
      outcome: 'success',
      patientId,
      studyId,
      resourceType: 'study',
      resourceId,
      details: { series: 3 },
    });
    const [row] = await rowsForResource(resourceId);
    expect(row).toMatchObject({
      action: 'study.read',
      outcome: 'success',
      userId: user.id,
      userEmail: user.email,
      role: 'radiologist',
      clientAddress: '198.51.100.23',
      userAgent: 'vitest',
      patientId,
      studyId,
      details: { series: 3 },
    });
    expect(row!.at.getTime()).toBeGreaterThanOrEqual(before - 5000);
  });
});

describe('auditPatientAccess', () => {
  it('records a successful access with the patient and study found by the loader', async () => {
    const user = await createTestUser('clinician');
    const resourceId = randomUUID();
    const patientId = randomUUID();
    const data = await auditPatientAccess(
      actorOfUser(user),
      { action: 'instance.read', resourceType: 'instance', resourceId, describe: (r: { patientId: string }) => ({ patientId: r.patientId }) },
      async () => ({ patientId, pixels: [1, 2, 3] }),
    );
    expect(data.pixels).toEqual([1, 2, 3]);
    const rows = await rowsForResource(resourceId);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ outcome: 'success', patientId, userId: user.id });
  });

  it('records a failed access and passes the error on', async () => {
    const user = await createTestUser('viewer');
    const resourceId = randomUUID();
    await expect(
      auditPatientAccess(actorOfUser(user), { action: 'study.read', resourceType: 'study', resourceId }, async () => {
        throw notFound('No such study');
      }),
    ).rejects.toThrow('No such study');
    const rows = await rowsForResource(resourceId);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ outcome: 'failure', details: { reason: 'ApiError', code: 'not_found' } });
  });

  it('records a lookup that found nothing as a failure', async () => {
    const user = await createTestUser('viewer');
    const resourceId = randomUUID();
    const result = await auditPatientAccess(actorOfUser(user), { action: 'study.read', resourceType: 'study', resourceId }, async () => null);
    expect(result).toBeNull();
    expect((await rowsForResource(resourceId))[0]).toMatchObject({ outcome: 'failure', details: { reason: 'not_found' } });
  });

  it('never hands out the data when its audit row cannot be written', async () => {
    const user = await createTestUser('viewer');
    const resourceId = randomUUID();
    // An address the inet column rejects makes the audit insert fail, as a database fault would.
    const brokenActor = { ...actorOfUser(user), clientAddress: 'not-an-address' };
    let handedOut: unknown;
    await expect(
      auditPatientAccess(brokenActor, { action: 'study.read', resourceType: 'study', resourceId }, async () => 'patient data').then(
        (value) => {
          handedOut = value;
        },
      ),
    ).rejects.toThrow();
    expect(handedOut).toBeUndefined();
    expect(await rowsForResource(resourceId)).toHaveLength(0);
  });
});
