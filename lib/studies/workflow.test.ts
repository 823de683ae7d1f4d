import { randomUUID } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { GET as getStudyRoute, PATCH as patchStudyRoute } from '@/app/api/studies/[id]/route';
import { GET as listStudiesRoute } from '@/app/api/studies/route';
import { GET as assigneesRoute } from '@/app/api/assignees/route';
import { getDb } from '@/db';
import { advanceStudyStatus } from '@/db/queries/studies';
import { analysisResults, auditLog, studies, type User } from '@/db/schema';
import { actorOfUser, createTestToken, createTestUser } from '@/lib/testing/fixtures';
import { ingestStudyFixture } from '@/lib/testing/ingest';
import { callRoute } from '@/lib/testing/route';
import { randomTag } from '@/lib/testing/study-fixture';
import { parseStudySearch, toStudyQuery } from './query';
import { updateStudyWorkflow } from './workflow';
import { loadStudy, searchStudies } from './worklist';

// Every patient of this file carries the tag, so searches never see other files' studies.
const T = `W${randomTag(6)}`;
const ids: Record<'alpha' | 'bravo' | 'charlie' | 'delta', string> = { alpha: '', bravo: '', charlie: '', delta: '' };
let admin: User, radA: User, radB: User, clinician: User, viewer: User, retired: User;
const tokens: Record<string, { secret: string; id: string }> = {};

async function statusRows(studyId: string) {
  return (await getDb()).select().from(auditLog).where(and(eq(auditLog.studyId, studyId), eq(auditLog.action, 'study.update')));
}

async function list(query: string, token = tokens.viewer!.secret) {
  const res = await callRoute(listStudiesRoute, { url: `/api/studies?q=${T}&${query}`, token });
  return { ...res, names: (res.body.studies ?? []).map((s: { patient: { name: string } }) => s.patient.name.split('^')[1]) as string[] };
}

const patch = (id: string, body: unknown, token: string) => callRoute(patchStudyRoute, { method: 'PATCH', url: `/api/studies/${id}`, params: { id }, body, token });

beforeAll(async () => {
  [admin, radA, radB, clinician, viewer] = await Promise.all([
    createTestUser('admin', { name: `${T} Admin` }),
    createTestUser('radiologist', { name: `${T} Rad A` }),
    createTestUser('radiologist', { name: `${T} Rad B` }),
    createTestUser('clinician'),
    createTestUser('viewer'),
  ]);
  retired = await createTestUser('radiologist', { disabled: true });
  for (const role of ['admin', 'radiologist', 'clinician', 'viewer'] as const) tokens[role] = await createTestToken(role);
  tokens.readOnlyRadiologist = await createTestToken('radiologist', ['studies:read']);

  const db = await getDb();
  ids.alpha = (await ingestStudyFixture('ct_small_explicit_le', { patientName: `${T}^ALPHA`, studyDate: '20240105' })).studyId;
  ids.bravo = (await ingestStudyFixture('mr_small_explicit_le', { patientName: `${T}^BRAVO`, studyDate: '20240210' })).studyId;
  ids.charlie = (await ingestStudyFixture('ct_jpeg_lossless_p14', { patientName: `${T}^CHARLIE`, studyDate: '20240315' })).studyId;
  ids.delta = (await ingestStudyFixture('nm_jpeg_extended_12bit', { patientName: `${T}^DELTA`, studyDate: '20231201' })).studyId;
  // Where the workflow would have taken them: processing, an AI answer, a final report.
  for (const to of ['processing', 'processed'] as const) await advanceStudyStatus(db, ids.alpha, to);
  for (const to of ['processing', 'processed', 'analysed'] as const) await advanceStudyStatus(db, ids.bravo, to);
  for (const to of ['processing', 'processed', 'analysed', 'reported'] as const) await advanceStudyStatus(db, ids.charlie, to);
});

describe('changing assignee and priority', () => {
  it('a radiologist assigns a study to themselves and sets its priority; the change is audited with old and new values', async () => {
    const result = await updateStudyWorkflow(actorOfUser(radA), ids.alpha, { assigneeId: radA.id, priority: 'stat', expectedAssigneeId: null });
    expect(result).toMatchObject({ id: ids.alpha, priority: 'stat', status: 'processed', assignee: { id: radA.id, name: radA.name, email: radA.email } });
    const rows = await statusRows(ids.alpha);
    expect(rows).toEqual([
      expect.objectContaining({
        outcome: 'success',
        userId: radA.id,
        role: 'radiologist',
        details: { changes: { assigneeId: { from: null, to: radA.id }, priority: { from: 'routine', to: 'stat' } } },
      }),
    ]);
    expect(rows[0]!.patientId).toBeTruthy();
  });

  it('over the API: a radiologist token reassigns, an admin unassigns, a clinician may change priority only', async () => {
    const reassigned = await patch(ids.bravo, { assigneeId: radB.id }, tokens.radiologist!.secret);
    expect(reassigned.status).toBe(200);
    expect(reassigned.body.study).toMatchObject({ assignee: { id: radB.id }, priority: 'routine', status: 'analysed' });

    const urgent = await patch(ids.bravo, { priority: 'urgent' }, tokens.clinician!.secret);
    expect(urgent.status).toBe(200);
    expect(urgent.body.study.priority).toBe('urgent');

    const clinicianAssigns = await patch(ids.bravo, { assigneeId: radA.id }, tokens.clinician!.secret);
    expect(clinicianAssigns.status).toBe(403);
    expect(clinicianAssigns.body.error.code).toBe('forbidden');

    const unassigned = await patch(ids.bravo, { assigneeId: null }, tokens.admin!.secret);
    expect(unassigned.body.study.assignee).toBeNull();

    const rows = await statusRows(ids.bravo);
    expect(rows.map((r) => [r.outcome, r.role, r.tokenId])).toEqual([
      ['success', 'radiologist', tokens.radiologist!.id],
      ['success', 'clinician', tokens.clinician!.id],
      ['denied', 'clinician', tokens.clinician!.id],
      ['success', 'admin', tokens.admin!.id],
    ]);
    expect(rows[3]!.details).toEqual({ changes: { assigneeId: { from: radB.id, to: null } } });
    // The refused change left the study as it was.
    const [row] = await (await getDb()).select().from(studies).where(eq(studies.id, ids.bravo));
    expect(row).toMatchObject({ assigneeId: null, priority: 'urgent' });
  });

  it('viewers and tokens without studies:write change nothing (403, audited)', async () => {
    const byViewer = await patch(ids.delta, { priority: 'stat' }, tokens.viewer!.secret);
    expect(byViewer.status).toBe(403);
    const readOnly = await patch(ids.delta, { priority: 'stat' }, tokens.readOnlyRadiologist!.secret);
    expect(readOnly.status).toBe(403);
    expect(readOnly.body.error.message).toContain('studies:write');
    await expect(updateStudyWorkflow(actorOfUser(viewer), ids.delta, { priority: 'stat' })).rejects.toMatchObject({ status: 403 });
    const denied = await (await getDb()).select().from(auditLog).where(and(eq(auditLog.action, 'study.update'), eq(auditLog.outcome, 'denied')));
    expect(denied.map((r) => r.tokenId ?? r.userId)).toEqual(expect.arrayContaining([tokens.viewer!.id, tokens.readOnlyRadiologist!.id, viewer.id]));
    const [row] = await (await getDb()).select().from(studies).where(eq(studies.id, ids.delta));
    expect(row!.priority).toBe('routine');
  });

  it('status is not set by hand, and bad input answers 4xx in the error shape without changing anything', async () => {
    const status = await patch(ids.delta, { status: 'reported' }, tokens.admin!.secret);
    expect(status.status).toBe(400);
    expect(status.body.error).toEqual({ code: 'bad_request', message: expect.stringContaining('status cannot be set by hand') });

    const cases: [unknown, number, string][] = [
      [{}, 400, 'validation_error'],
      [{ priority: 'high' }, 400, 'validation_error'],
      [{ assigneeId: 'someone' }, 400, 'validation_error'],
      [{ assigneeId: clinician.id }, 400, 'validation_error'],
      [{ assigneeId: retired.id }, 400, 'validation_error'],
      [{ assigneeId: randomUUID() }, 400, 'validation_error'],
      [{ priority: 'stat', extra: 1 }, 400, 'validation_error'],
      [[1, 2], 400, 'validation_error'],
    ];
    for (const [body, code, errorCode] of cases) {
      const res = await patch(ids.delta, body, tokens.admin!.secret);
      expect([res.status, res.body.error.code], JSON.stringify(body)).toEqual([code, errorCode]);
    }
    const invalidJson = await callRoute(patchStudyRoute, { method: 'PATCH', url: `/api/studies/${ids.delta}`, params: { id: ids.delta }, rawBody: '{"priority":', token: tokens.admin!.secret });
    expect([invalidJson.status, invalidJson.body.error.code]).toEqual([400, 'invalid_json']);
    const notJson = await callRoute(patchStudyRoute, { method: 'PATCH', url: `/api/studies/${ids.delta}`, params: { id: ids.delta }, rawBody: 'priority=stat', contentType: 'application/x-www-form-urlencoded', token: tokens.admin!.secret });
    expect(notJson.status).toBe(415);

    const [row] = await (await getDb()).select().from(studies).where(eq(studies.id, ids.delta));
    expect(row).toMatchObject({ status: 'received', priority: 'routine', assigneeId: null });
    const failures = (await statusRows(ids.delta)).filter((r) => r.outcome === 'failure');
    expect(failures.length).toBeGreaterThanOrEqual(cases.length);
    expect(failures[0]!.details).toMatchObject({ code: 'bad_request', input: { status: 'reported' } });
  });

  it('answers 404 for unknown and malformed study ids', async () => {
    const missing = randomUUID();
    expect((await patch(missing, { priority: 'stat' }, tokens.admin!.secret)).status).toBe(404);
    expect((await patch('1 or 1=1', { priority: 'stat' }, tokens.admin!.secret)).status).toBe(404);
    const [row] = await (await getDb()).select().from(auditLog).where(and(eq(auditLog.action, 'study.update'), eq(auditLog.resourceId, missing)));
    expect(row).toMatchObject({ outcome: 'failure', details: { code: 'not_found' } });
  });

  it('two radiologists claiming one study: the second is told it was taken (409)', async () => {
    const claim = (user: User) => updateStudyWorkflow(actorOfUser(user), ids.charlie, { assigneeId: user.id, expectedAssigneeId: null });
    const [first, second] = await Promise.allSettled([claim(radA), claim(radB)]);
    const outcomes = [first.status, second.status].sort();
    expect(outcomes).toEqual(['fulfilled', 'rejected']);
    const rejected = [first, second].find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(rejected.reason).toMatchObject({ status: 409, code: 'conflict' });
    const winner = [first, second].find((r) => r.status === 'fulfilled') as PromiseFulfilledResult<{ assignee: { id: string } }>;
    const [row] = await (await getDb()).select().from(studies).where(eq(studies.id, ids.charlie));
    expect(row!.assigneeId).toBe(winner.value.assignee.id);
    // Setting what is already set changes (and records) nothing.
    const before = (await statusRows(ids.charlie)).length;
    await updateStudyWorkflow(actorOfUser(admin), ids.charlie, { assigneeId: row!.assigneeId });
    expect((await statusRows(ids.charlie)).length).toBe(before);
    // Put it back for the filter tests below.
    await updateStudyWorkflow(actorOfUser(admin), ids.charlie, { assigneeId: null, priority: 'urgent' });
  });

  it('lists who can be assigned: active radiologists and administrators only', async () => {
    const res = await callRoute(assigneesRoute, { url: '/api/assignees', token: tokens.viewer!.secret });
    const listed = res.body.assignees.map((a: { id: string }) => a.id);
    expect(listed).toEqual(expect.arrayContaining([admin.id, radA.id, radB.id]));
    expect(listed).not.toContain(clinician.id);
    expect(listed).not.toContain(retired.id);
    expect(res.body.assignees.find((a: { id: string }) => a.id === radA.id)).toEqual({ id: radA.id, name: radA.name, email: radA.email, role: 'radiologist' });
  });
});

describe('worklist filters (GET /api/studies)', () => {
  // State from above: alpha processed/stat/radA, bravo analysed/urgent/none, charlie reported/urgent/none, delta received/routine/none.
  it('filters by a list of statuses (comma-separated or repeated)', async () => {
    expect((await list('status=processed,analysed&sort=patientName&order=asc')).names).toEqual(['ALPHA', 'BRAVO']);
    expect((await list('status=reported&status=received&sort=patientName&order=asc')).names).toEqual(['CHARLIE', 'DELTA']);
  });

  it('filters by priority and assignee (a person, unassigned, me)', async () => {
    expect((await list('priority=stat')).names).toEqual(['ALPHA']);
    expect((await list('priority=urgent,routine&sort=patientName&order=asc')).names).toEqual(['BRAVO', 'CHARLIE', 'DELTA']);
    expect((await list(`assignee=${radA.id}`)).names).toEqual(['ALPHA']);
    expect((await list('assignee=unassigned&sort=patientName&order=asc')).names).toEqual(['BRAVO', 'CHARLIE', 'DELTA']);
    const mine = await searchStudies(actorOfUser(radA), toStudyQuery(parseStudySearch(new URLSearchParams(`q=${T}&assignee=me`)), radA.id));
    expect(mine.rows.map((r) => [r.patient.name, r.assignee?.name])).toEqual([[`${T}^ALPHA`, radA.name]]);
    const tokenMe = await list('assignee=me');
    expect([tokenMe.status, tokenMe.body.error.code]).toEqual([400, 'bad_request']);
  });

  it('filters by modality, study date range and free text (name, id, accession, description)', async () => {
    expect((await list('modality=ct&sort=patientName&order=asc')).names).toEqual(['ALPHA', 'CHARLIE']);
    expect((await list('modality=NM')).names).toEqual(['DELTA']);
    expect((await list('dateFrom=2024-02-01&dateTo=2024-03-31&sort=studyDate&order=asc')).names).toEqual(['BRAVO', 'CHARLIE']);
    expect((await list('dateTo=20231231')).names).toEqual(['DELTA']);
    const bravo = await callRoute(listStudiesRoute, { url: `/api/studies?q=${encodeURIComponent(`${T}^BRAVO`)}`, token: tokens.viewer!.secret });
    expect(bravo.body.total).toBe(1);
    const db = await getDb();
    await db.update(studies).set({ description: `Chest ${T} follow-up` }).where(eq(studies.id, ids.delta));
    const byDescription = await callRoute(listStudiesRoute, { url: `/api/studies?q=${encodeURIComponent(`${T} follow`)}`, token: tokens.viewer!.secret });
    expect(byDescription.body.studies.map((s: { id: string }) => s.id)).toEqual([ids.delta]);
  });

  it('sorts by priority (stat first) and pages without overlap', async () => {
    const sorted = await list('sort=priority&order=desc');
    expect(sorted.names[0]).toBe('ALPHA');
    expect(sorted.names.slice(1, 3).sort()).toEqual(['BRAVO', 'CHARLIE']);
    expect(sorted.names[3]).toBe('DELTA');
    const seen: string[] = [];
    for (let page = 1; page <= 2; page++) {
      const res = await list(`sort=priority&order=desc&pageSize=2&page=${page}`);
      expect(res.body).toMatchObject({ page, pageSize: 2, total: 4 });
      seen.push(...res.names);
    }
    expect(seen).toEqual(sorted.names);
  });

  it('each row carries status, priority and assignee; the search is audited', async () => {
    const res = await list(`assignee=${radA.id}`);
    expect(res.body.studies[0]).toMatchObject({ status: 'processed', priority: 'stat', assignee: { id: radA.id, name: radA.name }, modalities: ['CT'] });
    const unassigned = await list('priority=routine');
    expect(unassigned.body.studies[0].assignee).toBeNull();
    const audits = await (await getDb()).select().from(auditLog).where(and(eq(auditLog.action, 'study.search'), eq(auditLog.tokenId, tokens.viewer!.id)));
    expect(audits.length).toBeGreaterThan(5);
  });

  it('rejects bad filters with 400', async () => {
    for (const bad of ['status=bogus', 'status=processed,nope', 'priority=high', 'assignee=bob', 'sort=assigneeId']) {
      const res = await list(bad);
      expect([res.status, res.body.error.code], bad).toEqual([400, 'validation_error']);
    }
  });
});

describe('study detail', () => {
  it('has the assignee and the AI results, reports and segmentations with their authors', async () => {
    const db = await getDb();
    await db.insert(analysisResults).values([
      { kind: 'ai_answer', status: 'final', studyId: ids.alpha, model: 'gemini-2.5-flash', prompt: 'Any fracture?', createdBy: radA.id, createdAt: new Date(Date.now() - 60_000) },
      { kind: 'report', status: 'final', studyId: ids.alpha, model: 'gemini-2.5-pro', createdBy: radA.id, signedBy: radB.id, signedAt: new Date(), createdAt: new Date(Date.now() - 30_000) },
      { kind: 'segmentation', status: 'pending', studyId: ids.alpha, model: 'builtin', createdBy: null, createdAt: new Date() },
    ]);
    const res = await callRoute(getStudyRoute, { url: `/api/studies/${ids.alpha}`, params: { id: ids.alpha }, token: tokens.viewer!.secret });
    expect(res.body.study.assignee).toMatchObject({ id: radA.id, name: radA.name });
    expect(res.body.study.analyses.map((a: { kind: string }) => a.kind)).toEqual(['segmentation', 'report', 'ai_answer']);
    expect(res.body.study.analyses[1]).toMatchObject({ status: 'final', model: 'gemini-2.5-pro', author: { id: radA.id, name: radA.name }, signedBy: { id: radB.id, name: radB.name } });
    expect(res.body.study.analyses[0].author).toBeNull();
    // Content stays out of the list; it is loaded where it is shown.
    expect(res.body.study.analyses[2]).not.toHaveProperty('content');
    const study = await loadStudy(actorOfUser(viewer), ids.alpha);
    expect(study?.analyses).toHaveLength(3);
  });
});
