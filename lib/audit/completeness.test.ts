/**
 * Walks every operation on patient data, over real HTTP through the real route handlers (and
 * sign-in/out through lib/auth), and checks that each writes exactly one audit row naming who
 * (user or token, role), from where, what, which patient and study, when and with what outcome.
 */
import { createHash, randomUUID } from 'node:crypto';
import { gt } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getDb } from '@/db';
import { latestAuditId } from '@/db/queries/audit';
import { auditLog, type AuditEntry } from '@/db/schema';
import { authenticate } from '@/lib/auth/authenticate';
import { appRouter } from '@/lib/testing/app-routes';
import { getEnv } from '@/lib/env';
import { createTestToken, createTestUser, TEST_PASSWORD, uniqueAddress } from '@/lib/testing/fixtures';
import { serveHandlers } from '@/lib/testing/http';
import { studyFixture } from '@/lib/testing/study-fixture';

let server: Awaited<ReturnType<typeof serveHandlers>>;
let admin: { secret: string; id: string };
let viewer: { secret: string; id: string };
let noScope: { secret: string; id: string };
let otherUploader: { secret: string; id: string };

interface Call {
  method?: string;
  token?: { secret: string } | null;
  headers?: Record<string, string>;
  body?: BodyInit;
  json?: unknown;
}

/** Performs one request (body read to the end) and returns its status and the audit rows it wrote. */
async function audited(path: string, init: Call = {}) {
  const before = await latestAuditId(await getDb());
  const headers: Record<string, string> = { ...init.headers };
  const token = init.token === undefined ? admin : init.token;
  if (token) headers.authorization = `Bearer ${token.secret}`;
  if (init.json !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${server.url}${path}`, { method: init.method ?? 'GET', headers, body: init.json !== undefined ? JSON.stringify(init.json) : init.body });
  const raw = Buffer.from(await res.arrayBuffer());
  const type = res.headers.get('content-type') ?? '';
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const body: any = /json/.test(type) && raw.length ? JSON.parse(raw.toString('utf8')) : raw;
  const rows = await rowsAfter(before);
  return { status: res.status, headers: res.headers, body, rows };
}

async function rowsAfter(id: number): Promise<AuditEntry[]> {
  return (await getDb()).select().from(auditLog).where(gt(auditLog.id, id)).orderBy(auditLog.id);
}

/** Exactly one row, matching `expected`; the actor fields default to the admin token's. */
function expectOneRow(rows: AuditEntry[], expected: Partial<AuditEntry>, actor: { tokenId?: string | null; role?: string; userId?: string | null } = {}) {
  expect(rows.map((r) => `${r.action}:${r.outcome}`), JSON.stringify(expected)).toHaveLength(1);
  const row = rows[0]!;
  expect(row).toMatchObject({
    tokenId: actor.tokenId === undefined ? admin.id : actor.tokenId,
    role: actor.role ?? 'admin',
    clientAddress: '127.0.0.1',
    eventId: expect.stringMatching(/^1101\d\d$/),
    eventActionCode: expect.stringMatching(/^[CRUDE]$/),
    ...expected,
  });
  expect(row.eventOutcomeIndicator).toEqual(row.outcome === 'success' ? 0 : row.outcome === 'denied' ? 8 : expect.any(Number));
  expect(Date.now() - row.at.getTime()).toBeLessThan(60_000);
  return row;
}

const missing = '00000000-0000-4000-8000-000000000000';

beforeAll(async () => {
  admin = await createTestToken('admin');
  viewer = await createTestToken('viewer');
  noScope = await createTestToken('admin', ['reports']);
  // Another client that may upload: someone else's upload is a 404 to it.
  otherUploader = await createTestToken('clinician', ['studies:write']);
  server = await serveHandlers({ '/api': appRouter(['app/api']), '/dicomweb': appRouter(['app/dicomweb']) });
});

afterAll(async () => {
  await server?.close();
});

describe('every access to patient data writes exactly one audit row', () => {
  const fixture = studyFixture('ct_small_explicit_le', { patientId: `AUD${randomUUID().slice(0, 5)}` });
  let studyId = '';
  let patientId = '';
  let instanceId = '';
  let seriesId = '';
  let uids = { study: '', series: '', sop: '' };

  it('upload (tus): creation, then the last chunk ingests', async () => {
    const bytes = fixture.data;
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const meta = `filename ${Buffer.from('ct.dcm').toString('base64')},sha256 ${Buffer.from(sha256).toString('base64')}`;
    const tus = { 'tus-resumable': '1.0.0' };
    const create = await audited('/api/upload', { method: 'POST', headers: { ...tus, 'upload-length': String(bytes.length), 'upload-metadata': meta } });
    expect(create.status).toBe(201);
    expectOneRow(create.rows, { action: 'upload.create', outcome: 'success', eventId: '110107', eventActionCode: 'C' });
    const location = new URL(create.headers.get('location')!, server.url).pathname;
    const done = await audited(location, { method: 'PATCH', headers: { ...tus, 'upload-offset': '0', 'content-type': 'application/offset+octet-stream' }, body: new Uint8Array(bytes) });
    expect(done.status).toBe(200);
    studyId = done.body.studyId;
    instanceId = done.body.result.items[0].instanceId;
    const row = expectOneRow(done.rows, { action: 'upload.ingest', outcome: 'success', studyId, eventId: '110107', eventActionCode: 'C' });
    patientId = row.patientId!;
    expect(patientId).toMatch(/^[0-9a-f-]{36}$/);

    const uploadId = location.split('/').pop()!;
    const status = await audited(`/api/uploads/${uploadId}`);
    expect(status.status).toBe(200);
    expectOneRow(status.rows, { action: 'upload.read', outcome: 'success', studyId, resourceId: uploadId, eventActionCode: 'R' });
    const othersUpload = await audited(`/api/uploads/${uploadId}`, { token: otherUploader });
    expect(othersUpload.status).toBe(404);
    expectOneRow(othersUpload.rows, { action: 'upload.read', outcome: 'failure', studyId: null }, { tokenId: otherUploader.id, role: 'clinician' });
  });

  it('worklist, study detail, viewer data, image, instance file and tags', async () => {
    const search = await audited(`/api/studies?patientId=${fixture.patientId}`);
    expect(search.status).toBe(200);
    expectOneRow(search.rows, { action: 'study.search', outcome: 'success', eventId: '110112', eventActionCode: 'E' });

    const detail = await audited(`/api/studies/${studyId}`);
    expect(detail.status).toBe(200);
    seriesId = detail.body.study.series[0].id;
    uids = { study: detail.body.study.studyInstanceUid, series: detail.body.study.series[0].seriesInstanceUid, sop: detail.body.study.series[0].instances?.[0]?.sopInstanceUid ?? '' };
    expectOneRow(detail.rows, { action: 'study.read', outcome: 'success', patientId, studyId, eventId: '110110', eventActionCode: 'R' });

    const view = await audited(`/api/studies/${studyId}/viewer`);
    expect(view.status).toBe(200);
    expectOneRow(view.rows, { action: 'study.view', outcome: 'success', patientId, studyId });

    const image = await audited(`/api/studies/${studyId}/image?format=png&size=64`);
    expect(image.status).toBe(200);
    expectOneRow(image.rows, { action: 'study.image', outcome: 'success', patientId, studyId, eventId: '110103', eventActionCode: 'R' });

    const file = await audited(`/api/instances/${instanceId}/file`);
    expect(file.status).toBe(200);
    expectOneRow(file.rows, { action: 'instance.view', outcome: 'success', patientId, studyId, resourceId: instanceId });

    const original = await audited(`/api/instances/${instanceId}/file?original=true`);
    expect(original.status).toBe(200);
    expectOneRow(original.rows, { action: 'instance.download', outcome: 'success', patientId, studyId, eventId: '110106' });

    const tags = await audited(`/api/instances/${instanceId}/tags`);
    expect(tags.status).toBe(200);
    expectOneRow(tags.rows, { outcome: 'success', patientId, studyId, resourceId: instanceId });
  });

  it('failed accesses: a missing study, a missing instance, a malformed id, a forbidden role, a token without the scope', async () => {
    const gone = await audited(`/api/studies/${missing}`);
    expect(gone.status).toBe(404);
    expectOneRow(gone.rows, { action: 'study.read', outcome: 'failure', studyId: missing, eventOutcomeIndicator: 4 });

    const goneImage = await audited(`/api/studies/${missing}/image`);
    expect(goneImage.status).toBe(404);
    expectOneRow(goneImage.rows, { action: 'study.image', outcome: 'failure', eventOutcomeIndicator: 4 });

    const goneFile = await audited(`/api/instances/${missing}/file`);
    expect(goneFile.status).toBe(404);
    expectOneRow(goneFile.rows, { outcome: 'failure', resourceId: missing });

    const malformed = await audited('/api/studies/not-a-uuid');
    expect(malformed.status).toBe(404);
    expectOneRow(malformed.rows, { outcome: 'failure' });

    const forbidden = await audited(`/api/process/${studyId}`, { method: 'POST', token: viewer });
    expect(forbidden.status).toBe(403);
    expectOneRow(forbidden.rows, { action: 'study.process', outcome: 'denied', eventOutcomeIndicator: 8 }, { tokenId: viewer.id, role: 'viewer' });

    const scope = await audited(`/api/studies/${studyId}`, { token: noScope });
    expect(scope.status).toBe(403);
    expectOneRow(scope.rows, { outcome: 'denied', details: expect.objectContaining({ reason: 'scope' }) }, { tokenId: noScope.id });

    const badToken = await audited(`/api/studies/${studyId}`, { token: { secret: 'imp_not-a-real-token' } });
    expect(badToken.status).toBe(401);
    expectOneRow(badToken.rows, { action: 'auth.token', outcome: 'failure', eventId: '110114', role: null }, { tokenId: null });

    const anonymous = await audited(`/api/studies/${studyId}`, { token: null });
    expect(anonymous.status).toBe(401);
    expectOneRow(anonymous.rows, { outcome: 'failure', role: null, userId: null, details: { reason: 'no_credentials' } }, { tokenId: null });
  });

  it('workflow changes and the process trigger', async () => {
    const change = await audited(`/api/studies/${studyId}`, { method: 'PATCH', json: { priority: 'urgent' } });
    expect(change.status).toBe(200);
    expectOneRow(change.rows, { action: 'study.update', outcome: 'success', patientId, studyId, eventId: '110111', eventActionCode: 'U' });

    const same = await audited(`/api/studies/${studyId}`, { method: 'PATCH', json: { priority: 'urgent' } });
    expect(same.status).toBe(200);
    // Nothing changed and the answer holds no patient data (id, status, priority, assignee): no row.
    expect(same.rows).toEqual([]);

    const refused = await audited(`/api/studies/${studyId}`, { method: 'PATCH', token: viewer, json: { priority: 'stat' } });
    expect(refused.status).toBe(403);
    expectOneRow(refused.rows, { action: 'study.update', outcome: 'denied' }, { tokenId: viewer.id, role: 'viewer' });

    const job = await audited(`/api/process/${studyId}`, { method: 'POST' });
    expect(job.status).toBe(202);
    expectOneRow(job.rows, { action: 'study.process', outcome: 'success', patientId, studyId, eventActionCode: 'E' });
  });

  it('segmentation request and listing', async () => {
    const request = await audited(`/api/studies/${studyId}/segmentations`, { method: 'POST', json: { seriesId, engine: 'builtin' } });
    expect(request.status).toBe(202);
    expectOneRow(request.rows, { action: 'segmentation.request', outcome: 'success', patientId, studyId, eventActionCode: 'C' });
    const list = await audited(`/api/studies/${studyId}/segmentations`);
    expect(list.status).toBe(200);
    expectOneRow(list.rows, { action: 'segmentation.list', outcome: 'success', patientId, studyId });
    const gone = await audited(`/api/segmentations/${missing}`);
    expect(gone.status).toBe(404);
    expectOneRow(gone.rows, { action: 'segmentation.read', outcome: 'failure' });
  });

  it('DICOMweb: search, metadata, retrieve, frames, rendered; a missing study', async () => {
    const s = `/dicomweb/studies/${uids.study}`;
    const search = await audited(`/dicomweb/studies?StudyInstanceUID=${uids.study}`);
    expect(search.status).toBe(200);
    expectOneRow(search.rows, { action: 'dicomweb.search_study', outcome: 'success', patientId, studyId, eventId: '110112' });
    const metadata = await audited(`${s}/metadata`);
    expect(metadata.status).toBe(200);
    expectOneRow(metadata.rows, { action: 'dicomweb.metadata_study', outcome: 'success', patientId, studyId });
    const retrieve = await audited(s);
    expect(retrieve.status).toBe(200);
    expectOneRow(retrieve.rows, { action: 'dicomweb.retrieve_study', outcome: 'success', patientId, studyId, eventId: '110104' });
    const sop = (metadata.body as Array<Record<string, { Value: string[] }>>)[0]!['00080018']!.Value[0];
    const i = `${s}/series/${(metadata.body as Array<Record<string, { Value: string[] }>>)[0]!['0020000E']!.Value[0]}/instances/${sop}`;
    const frames = await audited(`${i}/frames/1`);
    expect(frames.status).toBe(200);
    expectOneRow(frames.rows, { action: 'dicomweb.retrieve_frames', outcome: 'success', patientId, studyId });
    const rendered = await audited(`${i}/rendered`);
    expect(rendered.status).toBe(200);
    expectOneRow(rendered.rows, { action: 'dicomweb.retrieve_rendered', outcome: 'success', patientId, studyId });
    const gone = await audited('/dicomweb/studies/1.2.3.4.5.6.7.8.9');
    expect(gone.status).toBe(404);
    expectOneRow(gone.rows, { action: 'dicomweb.retrieve_study', outcome: 'failure' });
  });

  it('DICOMweb STOW-RS: one row per stored instance, none for the request besides', async () => {
    const other = studyFixture('ct_small_explicit_le', { patientId: `STW${randomUUID().slice(0, 5)}` });
    const boundary = 'b0undary';
    const body = Buffer.concat([Buffer.from(`--${boundary}\r\nContent-Type: application/dicom\r\n\r\n`), other.data, Buffer.from(`\r\n--${boundary}--\r\n`)]);
    const stow = await audited('/dicomweb/studies', { method: 'POST', body, headers: { 'content-type': `multipart/related; type="application/dicom"; boundary=${boundary}` } });
    expect(stow.status).toBe(200);
    expectOneRow(stow.rows, { action: 'dicomweb.store', outcome: 'success', eventId: '110107', eventActionCode: 'C', studyId: expect.stringMatching(/^[0-9a-f-]{36}$/) });
  });
});

describe('sign-in and sign-out write one row each', () => {
  it('success, wrong password, unknown account', async () => {
    const user = await createTestUser('radiologist');
    const meta = { clientAddress: '2001:db8::77', userAgent: 'vitest' };
    let before = await latestAuditId(await getDb());
    await authenticate({ email: user.email, password: TEST_PASSWORD }, meta);
    expectOneRow(await rowsAfter(before), { action: 'auth.sign_in', outcome: 'success', userId: user.id, eventId: '110114', eventTypeCode: '110122', eventActionCode: 'E', clientAddress: '2001:db8::77' }, { tokenId: null, role: 'radiologist', userId: user.id });

    before = await latestAuditId(await getDb());
    await expect(authenticate({ email: user.email, password: 'wrong password here' }, meta)).rejects.toThrow();
    expectOneRow(await rowsAfter(before), { action: 'auth.sign_in', outcome: 'failure', eventOutcomeIndicator: 4, clientAddress: '2001:db8::77', details: { reason: 'wrong_password' } }, { tokenId: null, role: 'radiologist' });

    before = await latestAuditId(await getDb());
    await expect(authenticate({ email: `nobody-${randomUUID()}@example.test`, password: 'whatever it is' }, meta)).rejects.toThrow();
    const unknown = await rowsAfter(before);
    expect(unknown).toHaveLength(1);
    expect(unknown[0]).toMatchObject({ action: 'auth.sign_in', outcome: 'failure', userId: null, details: { reason: 'unknown_account' } });
  });

  it('a throttled attempt is one denied row (serious failure), even with the right password', async () => {
    const user = await createTestUser('clinician');
    const meta = { clientAddress: uniqueAddress(), userAgent: 'vitest' };
    for (let i = 0; i < getEnv().login.maxFailuresPerAccount; i++) {
      await expect(authenticate({ email: user.email, password: `wrong password ${i}` }, meta)).rejects.toThrow();
    }
    const before = await latestAuditId(await getDb());
    await expect(authenticate({ email: user.email, password: TEST_PASSWORD }, meta)).rejects.toThrow();
    expectOneRow(await rowsAfter(before), { action: 'auth.sign_in', outcome: 'denied', eventOutcomeIndicator: 8, clientAddress: meta.clientAddress, details: { reason: 'throttled' }, userEmail: user.email, role: null }, { tokenId: null });
  });
});
