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
      // PS3.15: Patient Record, Read, Success.
      eventId: '110110',
      eventTypeCode: null,
      eventActionCode: 'R',
      eventOutcomeIndicator: 0,
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
    expect(rows[0]).toMatchObject({ outcome: 'failure', eventOutcomeIndicator: 4, details: { reason: 'ApiError', code: 'not_found' } });
  });

  it('records a fault of the platform as a major failure (12), a refusal by role as serious (8)', async () => {
    const user = await createTestUser('viewer');
    const crashed = randomUUID();
    await expect(
      auditPatientAccess(actorOfUser(user), { action: 'study.image', resourceType: 'study', resourceId: crashed }, async () => {
        throw new TypeError('decoder blew up');
      }),
    ).rejects.toThrow('decoder blew up');
    expect((await rowsForResource(crashed))[0]).toMatchObject({ outcome: 'failure', eventId: '110103', eventActionCode: 'R', eventOutcomeIndicator: 12 });
    const denied = randomUUID();
    await recordAudit(actorOfUser(user), { action: 'study.process', outcome: 'denied', resourceType: 'study', resourceId: denied });
    expect((await rowsForResource(denied))[0]).toMatchObject({ eventId: '110111', eventActionCode: 'E', eventOutcomeIndicator: 8 });
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
