/**
 * Real responses from the real handlers (over HTTP, PostgreSQL, data ingested from corpus
 * fixtures) checked against the OpenAPI document with ajv: success and error bodies alike. Every
 * documented success response must be exercised here, or be listed in NOT_EXERCISED with a reason.
 */
import { createHash, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readDicomMetadata } from '@/lib/dicom';
import { waitFor, workerPool } from '@/lib/jobs/testing/helpers';
import { registerSegmentationJobs, SEGMENT_SERIES } from '@/lib/segmentation/jobs';
import { appRouter } from '@/lib/testing/app-routes';
import { dicomCorpus } from '@/lib/testing/corpus';
import { replaceAscii, variantUid } from '@/lib/testing/dicom-series';
import { ctSeries, DEFAULT_PHANTOM, phantomHu, type CtPhantom } from '@/lib/testing/ct-phantom';
import { createTestToken, createTestUser } from '@/lib/testing/fixtures';
import { serveHandlers } from '@/lib/testing/http';
import { buildOpenApiDocument } from './document';
import { createResponseValidator } from './validate';

const doc = buildOpenApiDocument();
const validator = createResponseValidator(doc);

/** Documented success responses that this file does not produce, and why. */
const NOT_EXERCISED: Record<string, string> = {
  'GET /api/auth/{nextauth} 200': 'Auth.js needs the Next.js request context; covered by the e2e sign-in specs',
  'GET /api/auth/{nextauth} 302': 'as above',
  'POST /api/auth/{nextauth} 200': 'as above',
  'POST /api/auth/{nextauth} 302': 'as above',
  'POST /api/upload 200': 'creation-with-upload of a whole file; the chunked path below ends in the same 200 on PATCH',
  'OPTIONS /api/upload/{path} 204': 'same handler as OPTIONS /api/upload',
};

let server: Awaited<ReturnType<typeof serveHandlers>>;
let admin: string;
let viewer: string;
const problems: string[] = [];

/** Calls the server and validates the response against the document; returns status and body. */
async function call(method: string, path: string, init: { token?: string | null; headers?: Record<string, string>; body?: BodyInit; json?: unknown } = {}) {
  const headers: Record<string, string> = { ...init.headers };
  const token = init.token === undefined ? admin : init.token;
  if (token) headers.authorization = `Bearer ${token}`;
  if (init.json !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${server.url}${path}`, { method, headers, body: init.json !== undefined ? JSON.stringify(init.json) : init.body });
  const type = res.headers.get('content-type');
  const raw = Buffer.from(await res.arrayBuffer());
  const ndjson = !!type && /ndjson/.test(type);
  const body = ndjson
    ? raw
        .toString('utf8')
        .split('\n')
        .filter((l) => l.trim())
        .map((l) => JSON.parse(l))
    : type && /json/.test(type) && raw.length
      ? JSON.parse(raw.toString('utf8'))
      : raw;
  const checked = validator.check(method, path, res.status, raw.length || /json/.test(type ?? '') ? type : null, body, res.headers);
  if (checked.errors.length) problems.push(`${method} ${path} → ${res.status}: ${checked.errors.join('; ')}`);
  return { status: res.status, headers: res.headers, body };
}

function freshCopy(id: string): { bytes: Buffer; study: string; series: string; sop: string } {
  const entry = dicomCorpus().find((e) => e.id === id)!;
  let bytes: Buffer = readFileSync(entry.path);
  const meta = readDicomMetadata(new Uint8Array(bytes));
  const fresh = new Map<string, string>();
  for (const uid of [meta.studyInstanceUid!, meta.seriesInstanceUid!, meta.sopInstanceUid!].sort((a, b) => b.length - a.length)) {
    fresh.set(uid, variantUid(uid));
    bytes = replaceAscii(bytes, uid, fresh.get(uid)!);
  }
  return { bytes, study: fresh.get(meta.studyInstanceUid!)!, series: fresh.get(meta.seriesInstanceUid!)!, sop: fresh.get(meta.sopInstanceUid!)! };
}

function multipart(parts: Buffer[], boundary = 'b0undary') {
  const chunks = parts.flatMap((p) => [Buffer.from(`--${boundary}\r\nContent-Type: application/dicom\r\n\r\n`), p, Buffer.from('\r\n')]);
  return { body: Buffer.concat([...chunks, Buffer.from(`--${boundary}--\r\n`)]), type: `multipart/related; type="application/dicom"; boundary=${boundary}` };
}

const segmentationWorkers = workerPool({ kinds: [SEGMENT_SERIES] });

beforeAll(async () => {
  registerSegmentationJobs();
  admin = (await createTestToken('admin')).secret;
  viewer = (await createTestToken('viewer', ['studies:read'])).secret;
  server = await serveHandlers({ '/api': appRouter(['app/api']), '/dicomweb': appRouter(['app/dicomweb']) });
});

afterAll(async () => {
  await segmentationWorkers.stopAll();
  await server?.close();
});

describe('real responses match the OpenAPI document', () => {
  const ct = freshCopy('ct_small_explicit_le');
  const mr = freshCopy('mr_small_jpegls_lossless');
  let studyId = '';
  let instanceId = '';

  it('system, tokens and errors', async () => {
    expect((await call('GET', '/api/health', { token: null })).status).toBe(200);
    expect((await call('GET', '/api/openapi.json', { token: null })).status).toBe(200);
    expect((await call('GET', '/api/me')).status).toBe(200);
    expect((await call('GET', '/api/me', { token: null })).status).toBe(401);
    expect((await call('GET', '/api/me', { token: 'imp_not-a-real-token' })).status).toBe(401);
    expect((await call('GET', '/api/no/such/endpoint')).status).toBe(404);
    expect((await call('DELETE', '/api/no-such')).status).toBe(404);

    const created = await call('POST', '/api/tokens', { json: { name: 'openapi check', role: 'viewer', scopes: ['studies:read'], expiresAt: new Date(Date.now() + 86_400_000).toISOString() } });
    expect(created.status).toBe(201);
    expect((await call('POST', '/api/tokens', { json: { name: '', role: 'viewer', scopes: [] } })).status).toBe(400);
    expect((await call('POST', '/api/tokens', { body: 'name=x', headers: { 'content-type': 'text/plain' } })).status).toBe(415);
    expect((await call('POST', '/api/tokens', { body: '{', headers: { 'content-type': 'application/json' } })).status).toBe(400);
    expect((await call('GET', '/api/tokens')).status).toBe(200);
    expect((await call('GET', '/api/tokens', { token: viewer })).status).toBe(403);
    expect((await call('DELETE', `/api/tokens/${created.body.token.id}`)).status).toBe(200);
    expect((await call('DELETE', `/api/tokens/${created.body.token.id}`)).status).toBe(409);
    expect((await call('DELETE', '/api/tokens/not-a-uuid')).status).toBe(404);
  });

  it('uploads (tus) and upload status', async () => {
    const options = await call('OPTIONS', '/api/upload', { token: null });
    expect(options.status).toBe(204);
    const sha256 = createHash('sha256').update(ct.bytes).digest('hex');
    const meta = `filename ${Buffer.from('ct.dcm').toString('base64')},sha256 ${Buffer.from(sha256).toString('base64')}`;
    const tusHeaders = { 'tus-resumable': '1.0.0' };
    const create = await call('POST', '/api/upload', { headers: { ...tusHeaders, 'upload-length': String(ct.bytes.length), 'upload-metadata': meta } });
    expect(create.status).toBe(201);
    const location = new URL(create.headers.get('location')!, server.url).pathname;
    const half = Math.floor(ct.bytes.length / 2);
    const patch = (from: number, to: number) =>
      call('PATCH', location, { headers: { ...tusHeaders, 'upload-offset': String(from), 'content-type': 'application/offset+octet-stream' }, body: new Uint8Array(ct.bytes.subarray(from, to)) });
    expect((await patch(0, half)).status).toBe(204);
    expect((await call('HEAD', location, { headers: tusHeaders })).status).toBe(200);
    const done = await patch(half, ct.bytes.length);
    expect(done.status).toBe(200);
    expect(done.body).toMatchObject({ status: 'ready' });
    // A finished upload: HEAD answers its full length and the final PATCH repeated answers the same status.
    const head = await call('HEAD', location, { headers: tusHeaders });
    expect([head.status, head.headers.get('upload-offset')]).toEqual([200, String(ct.bytes.length)]);
    const repeated = await patch(ct.bytes.length, ct.bytes.length);
    expect(repeated.status).toBe(200);
    expect(repeated.body).toMatchObject({ id: done.body.id, status: 'ready', studyId: done.body.studyId });
    studyId = done.body.studyId;
    instanceId = done.body.result.items[0].instanceId;
    expect((await call('GET', `/api/uploads/${done.body.id}`)).status).toBe(200);
    expect((await call('GET', `/api/uploads/${done.body.id}`, { token: viewer })).status).toBe(403);
    expect((await call('GET', location, { headers: tusHeaders })).status).toBeGreaterThanOrEqual(400);

    const other = await call('POST', '/api/upload', { headers: { ...tusHeaders, 'upload-length': '10' } });
    expect(other.status).toBe(201);
    expect((await call('DELETE', new URL(other.headers.get('location')!, server.url).pathname, { headers: tusHeaders })).status).toBe(204);
    expect((await call('POST', '/api/upload', { token: viewer, headers: { ...tusHeaders, 'upload-length': '10' } })).status).toBe(403);
  });

  it('studies, images, instances and jobs', async () => {
    expect((await call('GET', '/api/studies?pageSize=5')).status).toBe(200);
    expect((await call('GET', '/api/studies?pageSize=5000')).status).toBe(400);
    expect((await call('GET', `/api/studies/${studyId}`)).status).toBe(200);
    expect((await call('GET', '/api/studies/00000000-0000-4000-8000-000000000000')).status).toBe(404);
    expect((await call('GET', `/api/studies/${studyId}/viewer`)).status).toBe(200);
    const image = await call('GET', `/api/studies/${studyId}/image?format=png&size=64`);
    expect(image.status).toBe(200);
    expect((await call('GET', `/api/studies/${studyId}/image?format=png&size=64`, { headers: { 'if-none-match': image.headers.get('etag')! } })).status).toBe(304);
    expect((await call('GET', `/api/studies/${studyId}/image?window=10`)).status).toBe(400);
    expect((await call('GET', `/api/instances/${instanceId}/file`)).status).toBe(200);
    expect((await call('GET', `/api/instances/${instanceId}/tags`)).status).toBe(200);
    const job = await call('POST', `/api/process/${studyId}`);
    expect(job.status).toBe(202);
    expect((await call('POST', `/api/process/${studyId}`, { token: viewer })).status).toBe(403);
    expect((await call('GET', `/api/jobs/${job.body.jobId}`)).status).toBe(200);
    expect((await call('GET', '/api/jobs/00000000-0000-4000-8000-000000000000')).status).toBe(404);
  });

  it('worklist: workflow changes, assignees, saved searches and the audit trail', async () => {
    const radiologist = await createTestUser('radiologist');
    const assignees = await call('GET', '/api/assignees');
    expect(assignees.status).toBe(200);
    expect(assignees.body.assignees).toEqual(expect.arrayContaining([expect.objectContaining({ id: radiologist.id, role: 'radiologist' })]));

    const study = `/api/studies/${studyId}`;
    const assigned = await call('PATCH', study, { json: { assigneeId: radiologist.id, priority: 'urgent', expectedAssigneeId: null } });
    expect(assigned.status).toBe(200);
    expect(assigned.body.study).toMatchObject({ id: studyId, priority: 'urgent', assignee: { id: radiologist.id, email: radiologist.email } });
    expect((await call('PATCH', study, { json: { assigneeId: null, expectedAssigneeId: null } })).status).toBe(409);
    expect((await call('PATCH', study, { json: { status: 'reported' } })).status).toBe(400);
    expect((await call('PATCH', study, { json: {} })).status).toBe(400);
    expect((await call('PATCH', study, { json: { assigneeId: randomUUID() } })).status).toBe(400);
    expect((await call('PATCH', study, { body: 'priority=stat', headers: { 'content-type': 'text/plain' } })).status).toBe(415);
    expect((await call('PATCH', study, { json: { priority: 'stat', note: 'x'.repeat(20_000) } })).status).toBe(413);
    expect((await call('PATCH', study, { token: viewer, json: { priority: 'stat' } })).status).toBe(403);
    expect((await call('PATCH', '/api/studies/00000000-0000-4000-8000-000000000000', { json: { priority: 'stat' } })).status).toBe(404);
    const detail = await call('GET', study);
    expect(detail.body.study.assignee).toMatchObject({ id: radiologist.id });
    const filtered = await call('GET', `/api/studies?assignee=${radiologist.id}&priority=urgent,stat`);
    expect(filtered.status).toBe(200);
    expect(filtered.body.studies.map((s: { id: string }) => s.id)).toContain(studyId);
    expect((await call('GET', '/api/studies?assignee=me')).status).toBe(400);

    const created = await call('POST', '/api/saved-searches', { json: { name: 'Urgent for Dr R', filters: { priority: 'urgent', assignee: radiologist.id, dateFrom: '1990-01-01' } } });
    expect(created.status).toBe(201);
    const saved = created.body.savedSearch;
    expect(created.headers.get('location')).toBe(`/api/saved-searches/${saved.id}`);
    expect(saved.filters).toMatchObject({ priority: ['urgent'], dateFrom: '19900101', pageSize: 50 });
    expect((await call('POST', '/api/saved-searches', { json: { name: 'URGENT FOR DR R', filters: {} } })).status).toBe(409);
    expect((await call('POST', '/api/saved-searches', { json: { name: '', filters: {} } })).status).toBe(400);
    expect((await call('POST', '/api/saved-searches', { body: '{', headers: { 'content-type': 'application/json' } })).status).toBe(400);
    expect((await call('POST', '/api/saved-searches', { token: viewer, json: { name: 'x', filters: {} } })).status).toBe(403);
    expect((await call('GET', '/api/saved-searches')).body.savedSearches.map((s: { id: string }) => s.id)).toContain(saved.id);
    expect((await call('GET', `/api/saved-searches/${saved.id}`)).status).toBe(200);
    expect((await call('GET', `/api/saved-searches/${saved.id}`, { token: viewer })).status).toBe(404);
    const applied = await call('GET', `/api/studies?savedSearch=${saved.id}`);
    expect(applied.status).toBe(200);
    expect(applied.body.studies.map((s: { id: string }) => s.id)).toContain(studyId);
    expect((await call('GET', `/api/studies?savedSearch=${randomUUID()}`)).status).toBe(404);
    const renamed = await call('PATCH', `/api/saved-searches/${saved.id}`, { json: { name: 'Renamed' } });
    expect(renamed.status).toBe(200);
    expect(renamed.body.savedSearch).toMatchObject({ name: 'Renamed', filters: saved.filters });
    expect((await call('PATCH', `/api/saved-searches/${saved.id}`, { json: {} })).status).toBe(400);
    expect((await call('DELETE', `/api/saved-searches/${saved.id}`)).status).toBe(204);
    expect((await call('DELETE', `/api/saved-searches/${saved.id}`)).status).toBe(404);

    const trail = await call('GET', `${study}/audit?pageSize=5`);
    expect(trail.status).toBe(200);
    expect(trail.body.actions).toEqual(expect.arrayContaining(['study.read', 'study.update']));
    const updates = await call('GET', `${study}/audit?action=study.update&outcome=success&from=2000-01-01`);
    expect(updates.body.entries.length).toBeGreaterThan(0);
    expect(updates.body.entries.every((e: { action: string }) => e.action === 'study.update')).toBe(true);
    expect((await call('GET', `${study}/audit?from=2030-01-01&to=2020-01-01`)).status).toBe(400);
    expect((await call('GET', `${study}/audit`, { token: viewer })).status).toBe(403);
  });

  it('segmentation: request, job, results, overlay and label map', async () => {
    const phantom: CtPhantom = { ...DEFAULT_PHANTOM, size: 48, slices: 12, pixelMm: 2, sliceMm: 2.5, bodyRadiusMm: 40, sphereRadiusMm: 12, sphereOffsetMm: 15, boneRadiusMm: 6, boneOffsetMm: -25 };
    const patientId = `OAPI-SEG-${randomUUID().slice(0, 8)}`;
    const series = ctSeries(phantom, (x, y, z) => phantomHu(phantom, x, y, z), { patientId });
    const stow = multipart(series.files);
    expect((await call('POST', '/dicomweb/studies', { body: stow.body, headers: { 'content-type': stow.type } })).status).toBe(200);
    const segStudy = (await call('GET', `/api/studies?patientId=${patientId}`)).body.studies[0].id;
    const seriesId = (await call('GET', `/api/studies/${segStudy}`)).body.study.series[0].id;

    const engines = await call('GET', '/api/segmentations/engines');
    expect(engines.status).toBe(200);
    expect(engines.body.engines).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'builtin', available: true, default: true })]));

    const path = `/api/studies/${segStudy}/segmentations`;
    const requested = await call('POST', path, { json: { seriesId } });
    expect(requested.status).toBe(202);
    expect(requested.body).toMatchObject({ created: true, segmentation: { status: 'queued', engine: 'builtin', overlayUrl: null } });
    const id = requested.body.segmentation.id;
    expect(requested.headers.get('location')).toBe(`/api/segmentations/${id}`);
    expect((await call('POST', path, { json: { seriesId } })).body).toMatchObject({ created: false, segmentation: { id } });
    expect((await call('GET', `/api/segmentations/${id}/overlay?slice=0`)).status).toBe(409);
    expect((await call('GET', `/api/segmentations/${id}/labelmap`)).status).toBe(409);
    expect((await call('POST', path, { token: viewer, json: { seriesId } })).status).toBe(403);
    expect((await call('POST', path, { json: { seriesId: randomUUID() } })).status).toBe(404);
    expect((await call('POST', path, { json: { seriesId: 'x' } })).status).toBe(400);
    expect((await call('POST', path, { json: { seriesId, options: { fast: true } } })).status).toBe(400);
    expect((await call('POST', path, { body: 'seriesId=x', headers: { 'content-type': 'text/plain' } })).status).toBe(415);
    expect((await call('POST', '/api/studies/00000000-0000-4000-8000-000000000000/segmentations', { json: { seriesId } })).status).toBe(404);
    const savedPath = process.env.PATH;
    process.env.PATH = '/nonexistent';
    try {
      const unavailable = await call('POST', path, { json: { seriesId, engine: 'totalsegmentator' } });
      expect(unavailable).toMatchObject({ status: 503, body: { error: { code: 'not_configured' } } });
    } finally {
      process.env.PATH = savedPath;
    }

    segmentationWorkers.start();
    const done = await waitFor(
      async () => {
        const { body } = await call('GET', `/api/segmentations/${id}`);
        return ['succeeded', 'failed', 'cancelled'].includes(body.segmentation.status) ? body.segmentation : undefined;
      },
      'the segmentation to finish',
      60_000,
    );
    expect(done).toMatchObject({ status: 'succeeded', progress: 100, dims: [48, 48, 12], spacing: [2, 2, 2.5], overlayUrl: `/api/segmentations/${id}/overlay` });
    expect(done.structures.map((s: { name: string }) => s.name)).toEqual(['body', 'lungs', 'bone', 'air']);
    const listed = await call('GET', path);
    expect(listed.status).toBe(200);
    expect(listed.body.segmentations).toEqual([expect.objectContaining({ id, status: 'succeeded' })]);
    expect((await call('GET', `/api/studies/${segStudy}`)).body.study.analyses).toEqual([expect.objectContaining({ id, kind: 'segmentation', status: 'final' })]);

    const overlay = await call('GET', `/api/segmentations/${id}/overlay?slice=6`);
    expect(overlay.status).toBe(200);
    expect(overlay.headers.get('x-overlay-width')).toBe('48');
    expect((await call('GET', `/api/segmentations/${id}/overlay?sop=${series.sopUids[3]}&labels=1,2`)).status).toBe(200);
    expect((await call('GET', `/api/segmentations/${id}/overlay?slice=12`)).status).toBe(404);
    expect((await call('GET', `/api/segmentations/${id}/overlay`)).status).toBe(400);
    const labelMap = await call('GET', `/api/segmentations/${id}/labelmap`);
    expect(labelMap.status).toBe(200);
    expect((labelMap.body as Buffer).readInt32LE(0)).toBe(348);
    expect((await call('GET', `/api/segmentations/${randomUUID()}`)).status).toBe(404);
  }, 120_000);

  it('DICOMweb', async () => {
    const stow = multipart([mr.bytes]);
    expect((await call('POST', '/dicomweb/studies', { body: stow.body, headers: { 'content-type': stow.type } })).status).toBe(200);
    const wrongStudy = multipart([freshCopy('mr_small_rle').bytes]);
    expect((await call('POST', `/dicomweb/studies/${mr.study}`, { body: wrongStudy.body, headers: { 'content-type': wrongStudy.type } })).status).toBe(409);
    const again = multipart([freshCopy('mr_small_explicit_le').bytes, Buffer.from('not dicom at all')]);
    expect((await call('POST', '/dicomweb/studies', { body: again.body, headers: { 'content-type': again.type } })).status).toBe(202);
    const own = freshCopy('mr_small_implicit');
    const intoStudy = multipart([own.bytes]);
    expect((await call('POST', `/dicomweb/studies/${own.study}`, { body: intoStudy.body, headers: { 'content-type': intoStudy.type } })).status).toBe(200);
    const mixed = freshCopy('mr_small_padded');
    const partly = multipart([mixed.bytes, freshCopy('mr_small_big_endian').bytes]);
    expect((await call('POST', `/dicomweb/studies/${mixed.study}`, { body: partly.body, headers: { 'content-type': partly.type } })).status).toBe(202);
    expect((await call('POST', '/dicomweb/studies', { body: 'x', headers: { 'content-type': 'application/json' } })).status).toBe(415);
    expect((await call('POST', '/dicomweb/studies', { body: '--x\r\n', headers: { 'content-type': 'multipart/related; type="application/dicom"; boundary=x' } })).status).toBe(400);
    expect((await call('POST', '/dicomweb/studies', { token: viewer, body: stow.body, headers: { 'content-type': stow.type } })).status).toBe(403);

    const s = `/dicomweb/studies/${mr.study}`;
    const i = `${s}/series/${mr.series}/instances/${mr.sop}`;
    for (const path of ['/dicomweb/studies?limit=5', '/dicomweb/series?limit=5', '/dicomweb/instances?limit=5&includefield=all', `${s}/series`, `${s}/instances`, `${s}/series/${mr.series}/instances`]) {
      expect((await call('GET', path)).status, path).toBe(200);
    }
    expect((await call('GET', '/dicomweb/studies?NoSuchKey=1')).status).toBe(400);
    expect((await call('GET', '/dicomweb/studies?StudyDate=yesterday')).status).toBe(400);
    expect((await call('GET', '/dicomweb/studies', { headers: { accept: 'application/dicom+xml' } })).status).toBe(406);
    expect((await call('GET', '/dicomweb/studies', { token: null })).status).toBe(401);
    expect((await call('GET', '/dicomweb/studies', { token: viewer })).status).toBe(403);
    for (const path of [`${s}/metadata`, `${s}/series/${mr.series}/metadata`, `${i}/metadata`]) expect((await call('GET', path)).status, path).toBe(200);
    for (const path of [s, `${s}/series/${mr.series}`, i]) expect((await call('GET', path)).status, path).toBe(200);
    expect((await call('GET', `${i}/frames/1`)).status).toBe(200);
    expect((await call('GET', `${i}/frames/2`)).status).toBe(404);
    expect((await call('GET', `${i}/frames/x`)).status).toBe(400);
    expect((await call('GET', `${i}/bulkdata/7FE00010`)).status).toBe(200);
    expect((await call('GET', `${i}/rendered`)).status).toBe(200);
    expect((await call('GET', `${i}/frames/1/rendered`, { headers: { accept: 'image/png' } })).status).toBe(200);
    expect((await call('GET', `${i}/thumbnail`)).status).toBe(200);
    expect((await call('GET', `${i}/rendered`, { headers: { accept: 'image/gif' } })).status).toBe(406);
    expect((await call('GET', '/dicomweb/studies/1.2.3.4.5.6.7.8.9')).status).toBe(404);
    expect((await call('GET', '/dicomweb/no/such/thing')).status).toBe(404);
  });

  it('AI: questions (JSON and NDJSON), refusals, reports and their exports', async () => {
    const { startFakeGemini } = await import('@/lib/ai/testing/fake-gemini');
    const { generateReport, signReport } = await import('@/lib/ai/reports');
    const { resetEnvForTests } = await import('@/lib/env');
    const { ingestStudyFixture } = await import('@/lib/testing/ingest');
    const { actorOfUser } = await import('@/lib/testing/fixtures');
    const fake = await startFakeGemini();
    process.env.GOOGLE_API_KEY = 'test-key';
    process.env.GEMINI_BASE_URL = fake.url;
    resetEnvForTests();
    try {
      const { studyId } = await ingestStudyFixture('ct_small_explicit_le');
      const asked = await call('POST', '/api/analyze', { json: { studyId, question: 'What is shown?', window: { center: 40, width: 400 } } });
      expect(asked.status).toBe(200);
      expect(asked.body.analysis).toMatchObject({ studyId, notice: expect.stringMatching(/not a diagnosis/) });
      const streamed = await call('POST', '/api/analyze', { json: { studyId, question: 'And now?', conversationId: asked.body.analysis.id, stream: true } });
      expect(streamed.status).toBe(200);
      expect(streamed.headers.get('content-type')).toMatch(/^application\/x-ndjson/);
      expect(streamed.body.at(-1)).toMatchObject({ type: 'done', analysis: { conversationId: asked.body.analysis.id, turn: 2 } });
      expect((await call('POST', '/api/analyze', { json: { studyId, question: '' } })).status).toBe(400);
      expect((await call('POST', '/api/analyze', { json: { studyId: randomUUID(), question: 'x' } })).status).toBe(404);
      expect((await call('POST', '/api/analyze', { token: viewer, json: { studyId, question: 'x' } })).status).toBe(403);
      fake.setScenario('quota');
      expect((await call('POST', '/api/analyze', { json: { studyId, question: 'x' } })).status).toBe(429);
      fake.setScenario('unauthorized');
      expect((await call('POST', '/api/analyze', { json: { studyId, question: 'x' } })).status).toBe(502);
      fake.setScenario('blocked-prompt');
      expect((await call('POST', '/api/analyze', { json: { studyId, question: 'x' } })).status).toBe(422);
      fake.setScenario('ok');
      delete process.env.GOOGLE_API_KEY;
      resetEnvForTests();
      const off = await call('POST', '/api/analyze', { json: { studyId, question: 'x' } });
      expect(off.status).toBe(503);
      expect(off.body.error.code).toBe('ai_not_configured');
      process.env.GOOGLE_API_KEY = 'test-key';
      resetEnvForTests();

      const radiologist = actorOfUser(await createTestUser('radiologist'));
      const report = await generateReport(radiologist, studyId);
      expect((await call('GET', `/api/reports/${report.id}`)).body.report).toMatchObject({ status: 'draft' });
      await signReport(radiologist, report.id);
      const listed = await call('GET', `/api/studies/${studyId}/reports`);
      expect(listed.body.reports).toEqual([expect.objectContaining({ id: report.id, status: 'final' })]);
      expect((await call('GET', `/api/studies/${randomUUID()}/reports`)).status).toBe(404);
      expect((await call('GET', `/api/reports/${randomUUID()}`)).status).toBe(404);
      const pdf = await call('GET', `/api/reports/${report.id}/export`);
      expect(pdf.headers.get('content-type')).toBe('application/pdf');
      expect((pdf.body as Buffer).subarray(0, 5).toString('latin1')).toBe('%PDF-');
      const txt = await call('GET', `/api/reports/${report.id}/export?format=txt`);
      expect(String(txt.body)).toContain('RADIOLOGY REPORT');
      expect((await call('GET', `/api/reports/${report.id}/export?format=doc`)).status).toBe(400);
    } finally {
      delete process.env.GOOGLE_API_KEY;
      delete process.env.GEMINI_BASE_URL;
      resetEnvForTests();
      await fake.close();
    }
  });

  it('the whole audit trail: search, CSV and JSON export', async () => {
    const page = await call('GET', `/api/audit?pageSize=3&outcome=success&action=dicomweb.*&from=2000-01-01`);
    expect(page.status).toBe(200);
    expect(page.body.entries.length).toBeGreaterThan(0);
    expect(page.body.entries.every((e: { action: string; outcome: string }) => e.action.startsWith('dicomweb.') && e.outcome === 'success')).toBe(true);
    const csv = await call('GET', `/api/audit?format=csv&action=audit.search`);
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-disposition')).toMatch(/^attachment; filename="audit-trail-.*\.csv"$/);
    expect(String(csv.body).split('\r\n')[0]).toMatch(/^id,at,eventId,/);
    const json = await call('GET', `/api/audit?format=json&action=audit.*`);
    expect(json.status).toBe(200);
    // The export's own row is in it (written before the first byte), newest first.
    expect(json.body[0]).toMatchObject({ action: 'audit.export', eventId: '110101', eventActionCode: 'R', eventOutcomeIndicator: 0 });
    expect((await call('GET', '/api/audit?format=xml')).status).toBe(400);
    expect((await call('GET', '/api/audit?from=2030-01-01&to=2020-01-01')).status).toBe(400);
    expect((await call('GET', '/api/audit', { token: viewer })).status).toBe(403);
    expect((await call('GET', '/api/audit', { token: null })).status).toBe(401);
  });

  it('every response conformed, and every documented success response was produced', () => {
    expect(problems).toEqual([]);
    const documented = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.entries(ops).flatMap(([method, op]) =>
        Object.keys(op.responses as object)
          .filter((status) => /^[23]/.test(status))
          .map((status) => `${method.toUpperCase()} ${path} ${status}`),
      ),
    );
    const missing = documented.filter((key) => !validator.exercised.has(key) && !NOT_EXERCISED[key]);
    expect(missing, 'exercise these here or list them in NOT_EXERCISED with a reason').toEqual([]);
  });
});
