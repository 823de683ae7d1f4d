import { randomUUID } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { GET as auditRoute } from '@/app/api/studies/[id]/audit/route';
import { getDb } from '@/db';
import { auditLog, type User } from '@/db/schema';
import { actorOfUser, createTestToken, createTestUser } from '@/lib/testing/fixtures';
import { ingestStudyFixture } from '@/lib/testing/ingest';
import { callRoute } from '@/lib/testing/route';
import { loadStudyAuditTrail, parseStudyAuditQuery } from './audit-trail';
import { updateStudyWorkflow } from './workflow';
import { loadStudy } from './worklist';

let studyId = '';
let otherStudyId = '';
let admin: User, radiologist: User, clinician: User;
let adminToken: { secret: string; id: string };

const trail = (query: string, token = adminToken.secret, id = studyId) => callRoute(auditRoute, { url: `/api/studies/${id}/audit?${query}`, params: { id }, token });

beforeAll(async () => {
  [admin, radiologist, clinician] = await Promise.all([createTestUser('admin'), createTestUser('radiologist'), createTestUser('clinician')]);
  adminToken = await createTestToken('admin');
  studyId = (await ingestStudyFixture('ct_small_explicit_le')).studyId;
  otherStudyId = (await ingestStudyFixture('mr_small_explicit_le')).studyId;
  // Reads and changes by three people; the other study's reads must not show up.
  await loadStudy(actorOfUser(clinician), studyId);
  await loadStudy(actorOfUser(radiologist), studyId);
  await updateStudyWorkflow(actorOfUser(radiologist), studyId, { assigneeId: radiologist.id });
  await updateStudyWorkflow(actorOfUser(clinician), studyId, { priority: 'urgent' });
  await updateStudyWorkflow(actorOfUser(clinician), studyId, { assigneeId: clinician.id }).catch(() => {});
  await loadStudy(actorOfUser(admin), studyId);
  await loadStudy(actorOfUser(clinician), otherStudyId);
});

describe('GET /api/studies/{id}/audit', () => {
  it("lists this study's trail, newest first, with who, what and the outcome", async () => {
    const res = await trail('');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ page: 1, pageSize: 25, total: 6 });
    expect(res.body.entries.map((e: { action: string; outcome: string; userEmail: string }) => [e.action, e.outcome, e.userEmail])).toEqual([
      ['study.read', 'success', admin.email],
      ['study.update', 'denied', clinician.email],
      ['study.update', 'success', clinician.email],
      ['study.update', 'success', radiologist.email],
      ['study.read', 'success', radiologist.email],
      ['study.read', 'success', clinician.email],
    ]);
    expect(res.body.entries.every((e: { studyId: string }) => e.studyId === studyId)).toBe(true);
    expect(res.body.actions).toEqual(['study.read', 'study.update']);
  });

  it('filters by action, outcome, actor and time, and pages', async () => {
    expect((await trail('action=study.update')).body.total).toBe(3);
    expect((await trail('outcome=denied')).body.entries).toEqual([expect.objectContaining({ userId: clinician.id, action: 'study.update' })]);
    expect((await trail(`actor=${encodeURIComponent(radiologist.email.slice(0, 20).toUpperCase())}`)).body.total).toBe(2);
    expect((await trail(`actor=${clinician.id}&action=study.read`)).body.total).toBe(1);
    const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
    expect((await trail(`from=${tomorrow}`)).body.total).toBe(0);
    const today = new Date().toISOString().slice(0, 10);
    // `to` as a day includes the whole of it.
    expect((await trail(`from=2020-01-01&to=${today}&action=study.update`)).body.total).toBe(3);
    expect((await trail(`to=${new Date(Date.now() - 3_600_000).toISOString()}`)).body.total).toBe(0);

    const pages: number[] = [];
    for (let page = 1; page <= 3; page++) {
      const res = await trail(`pageSize=2&page=${page}&action=study.read`);
      // The trail grows as it is read (study.audit rows), but study.read rows do not.
      expect(res.body.total).toBe(3);
      pages.push(...res.body.entries.map((e: { id: number }) => e.id));
    }
    expect(new Set(pages).size).toBe(3);
  });

  it('reading the trail is itself audited', async () => {
    await trail('outcome=success');
    const rows = await (await getDb()).select().from(auditLog).where(and(eq(auditLog.action, 'study.audit'), eq(auditLog.tokenId, adminToken.id), eq(auditLog.studyId, studyId)));
    expect(rows.length).toBeGreaterThan(0);
    expect(rows[0]).toMatchObject({ outcome: 'success', role: 'admin' });
    expect(rows[0]!.patientId).toBeTruthy();
  });

  it('is for administrators only: other roles and tokens without the admin scope get 403, audited', async () => {
    for (const role of ['radiologist', 'clinician', 'viewer'] as const) {
      const token = await createTestToken(role);
      const res = await trail('', token.secret);
      expect([res.status, res.body.error.code], role).toEqual([403, 'forbidden']);
      const [denied] = await (await getDb()).select().from(auditLog).where(and(eq(auditLog.tokenId, token.id), eq(auditLog.outcome, 'denied')));
      expect(denied, role).toBeDefined();
    }
    const noScope = await createTestToken('admin', ['studies:read', 'studies:write']);
    expect((await trail('', noScope.secret)).status).toBe(403);
    await expect(loadStudyAuditTrail(actorOfUser(radiologist), studyId, parseStudyAuditQuery({}))).rejects.toMatchObject({ status: 403 });
  });

  it('answers 404 for unknown and malformed studies and 400 for bad filters', async () => {
    expect((await trail('', adminToken.secret, randomUUID())).status).toBe(404);
    expect((await trail('', adminToken.secret, 'x')).status).toBe(404);
    for (const bad of ['outcome=maybe', 'from=yesterday', 'pageSize=500', 'action=%20drop%20table', `from=2024-02-01&to=2024-01-01`]) {
      const res = await trail(bad);
      expect([res.status, res.body.error.code], bad).toEqual([400, 'validation_error']);
    }
  });
});
