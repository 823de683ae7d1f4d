/**
 * The authorization matrix over every route handler in app/api and app/dicomweb (discovered from
 * the files, so a new route cannot be forgotten): each method is called by every principal of
 * lib/testing/authz-policy.ts against real data on PostgreSQL, through the real route modules.
 * A call is *denied* when it answers 401, 403 or 404; every denied call must have written an
 * audit row with outcome denied or failure. Sessions are real: a JWT cookie minted with the
 * app's secret, decoded by Auth.js, checked against its user_sessions row.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { encode } from 'next-auth/jwt';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { getDb } from '@/db';
import { insertAnalysis, markReportFinal } from '@/db/queries/analyses';
import { findAuditEntriesByUserAgent } from '@/db/queries/audit';
import { touchSession } from '@/db/queries/sessions';
import { insertUpload } from '@/db/queries/uploads';
import { updateUser } from '@/db/queries/users';
import type { User } from '@/db/schema';
import { baseAuthConfig } from '@/lib/auth/config';
import { API_SCOPES, type RouteScope } from '@/lib/auth/scopes';
import { endSession, openSession } from '@/lib/auth/sessions';
import { changeUser } from '@/lib/auth/users';
import { resetEnvForTests } from '@/lib/env';
import { readDicomMetadata } from '@/lib/dicom';
import { requestProcessing } from '@/lib/imaging/processing';
import { registerSegmentationJobs } from '@/lib/segmentation/jobs';
import { requestSegmentation } from '@/lib/segmentation/service';
import { createSavedSearch } from '@/lib/studies/saved-searches';
import { appRouter, listAppRoutes } from '@/lib/testing/app-routes';
import { API_POLICY, expectedOutcome, missingPolicies, policyKey, PRINCIPALS, ROLES, type Expectation, type PrincipalName } from '@/lib/testing/authz-policy';
import { actorOfUser, createTestToken, createTestUser } from '@/lib/testing/fixtures';
import { ingestForTest } from '@/lib/testing/ingest';
import { startFakeGemini, type FakeGemini } from '@/lib/ai/testing/fake-gemini';
import { studyFixture } from '@/lib/testing/study-fixture';

// Auth.js reads the request's cookies through next/headers, which only a live Next.js request
// provides; here it is the headers of the request being dispatched. Everything after it is real.
vi.mock('next/headers', async (importOriginal) => {
  const { AsyncLocalStorage: Store } = await import('node:async_hooks');
  const store = new Store<Headers>();
  (globalThis as { __authzRequestHeaders?: AsyncLocalStorage<Headers> }).__authzRequestHeaders = store;
  return { ...(await importOriginal<object>()), headers: async () => store.getStore() ?? new Headers() };
});
const requestHeaders = () => (globalThis as unknown as { __authzRequestHeaders: AsyncLocalStorage<Headers> }).__authzRequestHeaders;

const FOLDERS = ['app/api', 'app/dicomweb'];
const routes = listAppRoutes(FOLDERS);
const dispatch = appRouter(FOLDERS);

/** Who the principal is, as the request builders need it (owners of what they create). */
interface Caller {
  name: PrincipalName;
  headers: Record<string, string>;
  owner: { userId: string | null; tokenId: string | null };
}

interface Fixture {
  admin: User;
  studyId: string;
  seriesId: string;
  instanceId: string;
  jobId: string;
  segmentationId: string;
  /** A signed (final) report of the study: readable by every role. */
  reportId: string;
  studyUid: string;
  seriesUid: string;
  sopUid: string;
  dicom: Buffer;
}

interface Built {
  path: string;
  method?: string;
  headers?: Record<string, string>;
  body?: BodyInit;
  json?: unknown;
}

type Builder = (f: Fixture, caller: Caller) => Promise<Built> | Built;

let fixture: Fixture;
const sessionCookies = new Map<PrincipalName, string>();
const tokenSecrets = new Map<string, { secret: string; id: string }>();

/** The user_sessions row each minted cookie names. */
const sessionIdOf = new Map<string, string>();

async function cookieFor(user: User, sessionAt = new Date()): Promise<string> {
  const session = await openSession(user, { clientAddress: '192.0.2.80', userAgent: 'authz-matrix' }, sessionAt);
  const config = baseAuthConfig();
  const jwt = await encode({
    salt: 'authjs.session-token',
    secret: config.secret as string,
    maxAge: config.jwt!.maxAge,
    token: { sub: user.id, email: user.email, name: user.name, role: user.role, sv: user.sessionVersion, sid: session.id },
  });
  const cookie = `authjs.session-token=${jwt}`;
  sessionIdOf.set(cookie, session.id);
  return cookie;
}

/** The admin token for a scope profile, made once: only `scope`, or every scope but it. */
async function tokenFor(kind: 'with' | 'lacking' | 'viewer', scope: RouteScope | null): Promise<{ secret: string; id: string }> {
  const key = `${kind}:${scope}`;
  let token = tokenSecrets.get(key);
  if (!token) {
    const scopes =
      kind === 'viewer'
        ? [...API_SCOPES]
        : kind === 'with'
          ? scope && scope !== 'none'
            ? [scope]
            : ['studies:read']
          : API_SCOPES.filter((s) => s !== scope);
    token = await createTestToken(kind === 'viewer' ? 'viewer' : 'admin', scopes);
    tokenSecrets.set(key, token);
  }
  return token;
}

const users = new Map<PrincipalName, User>();

async function callerFor(name: PrincipalName, scope: RouteScope | null): Promise<Caller> {
  const cookie = sessionCookies.get(name);
  if (cookie) return { name, headers: { cookie }, owner: { userId: users.get(name)?.id ?? null, tokenId: null } };
  if (name === 'anonymous') return { name, headers: {}, owner: { userId: null, tokenId: null } };
  const token =
    name === 'token-revoked'
      ? tokenSecrets.get('revoked')!
      : await tokenFor(name === 'token-with-scope' ? 'with' : name === 'token-lacking-scope' ? 'lacking' : 'viewer', scope);
  return { name, headers: { authorization: `Bearer ${token.secret}` }, owner: { userId: null, tokenId: token.id } };
}

async function send(built: Built, caller: Caller, userAgent: string): Promise<Response> {
  const headers: Record<string, string> = { host: 'app.test', 'x-forwarded-proto': 'http', 'user-agent': userAgent, 'x-forwarded-for': '192.0.2.81', ...caller.headers, ...built.headers };
  if (built.json !== undefined) headers['content-type'] = 'application/json';
  const req = new Request(`http://app.test${built.path}`, {
    method: built.method,
    headers,
    body: built.json !== undefined ? JSON.stringify(built.json) : built.body,
  });
  return requestHeaders().run(new Headers(headers), () => dispatch(req));
}

/** Owner of what a builder creates: the caller when it has an identity, else the admin. */
function ownerOf(f: Fixture, caller: Caller) {
  return caller.owner.userId || caller.owner.tokenId ? caller.owner : { userId: f.admin.id, tokenId: null };
}

async function ownSavedSearch(f: Fixture, caller: Caller): Promise<string> {
  const owner = ownerOf(f, caller);
  const saved = await createSavedSearch({ userId: owner.userId, tokenId: owner.tokenId, clientAddress: null, userAgent: 'authz-setup' }, { name: `s-${randomUUID()}`, filters: {} });
  return saved.id;
}

const TUS = { 'tus-resumable': '1.0.0' };

/** An unfinished tus upload of 10 bytes belonging to the caller (or to the admin). */
async function ownTusUpload(f: Fixture, caller: Caller): Promise<string> {
  const create = (c: Caller) => send({ path: '/api/upload', method: 'POST', headers: { ...TUS, 'upload-length': '10' } }, c, 'authz-setup');
  let res = await create(caller);
  if (res.status !== 201) res = await create({ name: 'admin', headers: { cookie: sessionCookies.get('admin')! }, owner: { userId: f.admin.id, tokenId: null } });
  expect(res.status, 'tus upload for the matrix').toBe(201);
  return new URL(res.headers.get('location')!, 'http://app.test').pathname;
}

const wado = (f: Fixture) => `/dicomweb/studies/${f.studyUid}/series/${f.seriesUid}/instances/${f.sopUid}`;

function stow(f: Fixture): Built {
  const boundary = 'authzboundary';
  const body = Buffer.concat([Buffer.from(`--${boundary}\r\nContent-Type: application/dicom\r\n\r\n`), f.dicom, Buffer.from(`\r\n--${boundary}--\r\n`)]);
  return { path: '/dicomweb/studies', method: 'POST', body: new Uint8Array(body), headers: { 'content-type': `multipart/related; type="application/dicom"; boundary=${boundary}` } };
}

/**
 * One request per policy entry, as a client that is allowed would make it (real ids of real
 * data, valid bodies), so that any answer other than 401/403/404 means the call got through.
 */
const REQUESTS: Record<string, Builder> = {
  ...Object.fromEntries(['GET', 'POST', 'PUT', 'PATCH', 'DELETE'].map((m) => [`${m} /api/[...path]`, () => ({ path: '/api/no/such/endpoint', method: m })])),
  ...Object.fromEntries(['GET', 'POST', 'PUT', 'PATCH', 'DELETE'].map((m) => [`${m} /dicomweb/[...path]`, () => ({ path: '/dicomweb/no/such/resource', method: m })])),
  'GET /api/assignees': () => ({ path: '/api/assignees' }),
  'GET /api/auth/[...nextauth]': () => ({ path: '/api/auth/providers' }),
  'POST /api/auth/[...nextauth]': () => ({ path: '/api/auth/signout', method: 'POST', body: 'csrfToken=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } }),
  'GET /api/health': () => ({ path: '/api/health' }),
  'GET /api/openapi.json': () => ({ path: '/api/openapi.json' }),
  'GET /api/me': () => ({ path: '/api/me' }),
  'GET /api/instances/[id]/file': (f) => ({ path: `/api/instances/${f.instanceId}/file` }),
  'GET /api/instances/[id]/tags': (f) => ({ path: `/api/instances/${f.instanceId}/tags` }),
  'GET /api/jobs/[id]': (f) => ({ path: `/api/jobs/${f.jobId}` }),
  'POST /api/process/[id]': (f) => ({ path: `/api/process/${f.studyId}`, method: 'POST' }),
  'GET /api/saved-searches': () => ({ path: '/api/saved-searches' }),
  'POST /api/saved-searches': () => ({ path: '/api/saved-searches', method: 'POST', json: { name: `m-${randomUUID()}`, filters: { priority: 'urgent' } } }),
  'GET /api/saved-searches/[id]': async (f, c) => ({ path: `/api/saved-searches/${await ownSavedSearch(f, c)}` }),
  'PATCH /api/saved-searches/[id]': async (f, c) => ({ path: `/api/saved-searches/${await ownSavedSearch(f, c)}`, method: 'PATCH', json: { name: `r-${randomUUID()}` } }),
  'DELETE /api/saved-searches/[id]': async (f, c) => ({ path: `/api/saved-searches/${await ownSavedSearch(f, c)}`, method: 'DELETE' }),
  'GET /api/segmentations/engines': () => ({ path: '/api/segmentations/engines' }),
  'GET /api/segmentations/[id]': (f) => ({ path: `/api/segmentations/${f.segmentationId}` }),
  // Queued, not finished: an allowed caller gets 409, a refused one 401/403/404.
  'GET /api/segmentations/[id]/overlay': (f) => ({ path: `/api/segmentations/${f.segmentationId}/overlay?slice=0` }),
  'GET /api/segmentations/[id]/labelmap': (f) => ({ path: `/api/segmentations/${f.segmentationId}/labelmap` }),
  'GET /api/studies': () => ({ path: '/api/studies?pageSize=5' }),
  'GET /api/studies/[id]': (f) => ({ path: `/api/studies/${f.studyId}` }),
  'PATCH /api/studies/[id]': (f) => ({ path: `/api/studies/${f.studyId}`, method: 'PATCH', json: { priority: 'urgent' } }),
  'GET /api/studies/[id]/audit': (f) => ({ path: `/api/studies/${f.studyId}/audit?pageSize=5` }),
  'GET /api/studies/[id]/image': (f) => ({ path: `/api/studies/${f.studyId}/image?size=32` }),
  'GET /api/studies/[id]/viewer': (f) => ({ path: `/api/studies/${f.studyId}/viewer` }),
  'GET /api/studies/[id]/segmentations': (f) => ({ path: `/api/studies/${f.studyId}/segmentations` }),
  'POST /api/studies/[id]/segmentations': (f) => ({ path: `/api/studies/${f.studyId}/segmentations`, method: 'POST', json: { seriesId: f.seriesId, engine: 'builtin' } }),
  'POST /api/analyze': (f) => ({ path: '/api/analyze', method: 'POST', json: { studyId: f.studyId, question: 'Is there a fracture?' } }),
  'GET /api/studies/[id]/reports': (f) => ({ path: `/api/studies/${f.studyId}/reports` }),
  'GET /api/reports/[id]': (f) => ({ path: `/api/reports/${f.reportId}` }),
  'GET /api/reports/[id]/export': (f) => ({ path: `/api/reports/${f.reportId}/export?format=txt` }),
  'GET /api/audit': () => ({ path: '/api/audit?pageSize=5' }),
  'GET /api/tokens': () => ({ path: '/api/tokens' }),
  'POST /api/tokens': () => ({ path: '/api/tokens', method: 'POST', json: { name: `m-${randomUUID()}`, role: 'viewer', scopes: ['studies:read'] } }),
  'DELETE /api/tokens/[id]': async () => ({ path: `/api/tokens/${(await createTestToken('viewer', ['studies:read'])).id}`, method: 'DELETE' }),
  'OPTIONS /api/upload/[[...path]]': () => ({ path: '/api/upload', method: 'OPTIONS', headers: TUS }),
  'POST /api/upload/[[...path]]': () => ({ path: '/api/upload', method: 'POST', headers: { ...TUS, 'upload-length': '10' } }),
  'HEAD /api/upload/[[...path]]': async (f, c) => ({ path: await ownTusUpload(f, c), method: 'HEAD', headers: TUS }),
  'PATCH /api/upload/[[...path]]': async (f, c) => ({
    path: await ownTusUpload(f, c),
    method: 'PATCH',
    headers: { ...TUS, 'upload-offset': '0', 'content-type': 'application/offset+octet-stream' },
    body: new Uint8Array([1, 2, 3, 4, 5]),
  }),
  'DELETE /api/upload/[[...path]]': async (f, c) => ({ path: await ownTusUpload(f, c), method: 'DELETE', headers: TUS }),
  'GET /api/upload/[[...path]]': async (f, c) => ({ path: await ownTusUpload(f, c), method: 'GET', headers: TUS }),
  'GET /api/uploads/[id]': async (f, c) => {
    const id = randomUUID();
    await insertUpload(await getDb(), { id, ...ownerOf(f, c), filename: 'x.dcm', metadata: {} });
    return { path: `/api/uploads/${id}` };
  },
  'GET /dicomweb/studies': (f) => ({ path: `/dicomweb/studies?StudyInstanceUID=${f.studyUid}` }),
  'POST /dicomweb/studies': (f) => stow(f),
  'GET /dicomweb/series': (f) => ({ path: `/dicomweb/series?SeriesInstanceUID=${f.seriesUid}` }),
  'GET /dicomweb/instances': (f) => ({ path: `/dicomweb/instances?SOPInstanceUID=${f.sopUid}` }),
  'GET /dicomweb/studies/[study]': (f) => ({ path: `/dicomweb/studies/${f.studyUid}`, headers: { accept: 'multipart/related; type="application/dicom"; transfer-syntax=*' } }),
  'POST /dicomweb/studies/[study]': (f) => ({ ...stow(f), path: `/dicomweb/studies/${f.studyUid}` }),
  'GET /dicomweb/studies/[study]/metadata': (f) => ({ path: `/dicomweb/studies/${f.studyUid}/metadata` }),
  'GET /dicomweb/studies/[study]/series': (f) => ({ path: `/dicomweb/studies/${f.studyUid}/series` }),
  'GET /dicomweb/studies/[study]/instances': (f) => ({ path: `/dicomweb/studies/${f.studyUid}/instances` }),
  'GET /dicomweb/studies/[study]/series/[series]': (f) => ({ path: `/dicomweb/studies/${f.studyUid}/series/${f.seriesUid}`, headers: { accept: 'multipart/related; type="application/dicom"; transfer-syntax=*' } }),
  'GET /dicomweb/studies/[study]/series/[series]/metadata': (f) => ({ path: `/dicomweb/studies/${f.studyUid}/series/${f.seriesUid}/metadata` }),
  'GET /dicomweb/studies/[study]/series/[series]/instances': (f) => ({ path: `/dicomweb/studies/${f.studyUid}/series/${f.seriesUid}/instances` }),
  'GET /dicomweb/studies/[study]/series/[series]/instances/[instance]': (f) => ({ path: wado(f), headers: { accept: 'multipart/related; type="application/dicom"; transfer-syntax=*' } }),
  'GET /dicomweb/studies/[study]/series/[series]/instances/[instance]/metadata': (f) => ({ path: `${wado(f)}/metadata` }),
  'GET /dicomweb/studies/[study]/series/[series]/instances/[instance]/rendered': (f) => ({ path: `${wado(f)}/rendered` }),
  'GET /dicomweb/studies/[study]/series/[series]/instances/[instance]/thumbnail': (f) => ({ path: `${wado(f)}/thumbnail` }),
  'GET /dicomweb/studies/[study]/series/[series]/instances/[instance]/frames/[frames]': (f) => ({ path: `${wado(f)}/frames/1` }),
  'GET /dicomweb/studies/[study]/series/[series]/instances/[instance]/frames/[frames]/rendered': (f) => ({ path: `${wado(f)}/frames/1/rendered` }),
  'GET /dicomweb/studies/[study]/series/[series]/instances/[instance]/bulkdata/[tag]': (f) => ({ path: `${wado(f)}/bulkdata/7FE00010` }),
};

/** Every discovered route file × the methods it exports. */
const discovered = routes.flatMap((r) => r.methods.map((m) => policyKey(m, r.segments)));

interface Row {
  key: string;
  principal: PrincipalName;
  expected: Expectation;
  status: number;
  denied: boolean;
  audited: boolean;
}
const results: Row[] = [];

let gemini: FakeGemini;

beforeAll(async () => {
  await import('next/headers'); // runs the mock's factory, which makes the store
  // AI routes answer for real (a local stand-in for Gemini), so an allowed call is a 200.
  gemini = await startFakeGemini();
  process.env.GOOGLE_API_KEY = 'matrix-key';
  process.env.GEMINI_BASE_URL = gemini.url;
  resetEnvForTests();
  registerSegmentationJobs();
  const db = await getDb();
  for (const role of ROLES) {
    const user = await createTestUser(role);
    users.set(role, user);
    sessionCookies.set(role, await cookieFor(user));
  }
  const disabled = await createTestUser('radiologist');
  sessionCookies.set('disabled', await cookieFor(disabled));
  await updateUser(db, disabled.id, { disabled: true });
  const signedOut = await createTestUser('admin');
  const signedOutCookie = await cookieFor(signedOut);
  sessionCookies.set('signed-out', signedOutCookie);
  // The session row named by the cookie, revoked as sign-out does it.
  await endSession(sessionIdOf.get(signedOutCookie));
  // An admin's session opened longer ago than the absolute limit (and idle ever since); the JWT
  // itself is freshly minted, so only the server-side limits can refuse it.
  const expired = await createTestUser('admin');
  sessionCookies.set('expired', await cookieFor(expired, new Date(Date.now() - 9 * 3600_000)));
  const revoked = await createTestToken('admin');
  await (await import('@/db/queries/api-tokens')).revokeApiTokenRow(db, revoked.id);
  tokenSecrets.set('revoked', revoked);

  const admin = users.get('admin')!;
  const made = studyFixture('ct_small_explicit_le');
  const meta = readDicomMetadata(new Uint8Array(made.data));
  const file = path.join(process.env.DATA_DIR!, `${randomUUID()}.dcm`);
  await writeFile(file, made.data);
  const item = (await ingestForTest(file, {}, admin.id)).items[0]!;
  const job = await requestProcessing(item.studyId, admin.id);
  const segmentation = await requestSegmentation(actorOfUser(admin), item.studyId, { seriesId: item.seriesId, engine: 'builtin', options: {} });
  // A report as a radiologist signs it (drafted by the model in real use; written directly here).
  const draft = await insertAnalysis(db, {
    kind: 'report',
    status: 'draft',
    studyId: item.studyId,
    model: 'matrix',
    prompt: 'matrix',
    content: { technique: 'CT', findings: 'None.', impression: 'Normal.', notice: 'Not a diagnosis.' },
    createdBy: admin.id,
  });
  await markReportFinal(db, draft.id, admin.id, draft.content as Record<string, unknown>);
  fixture = {
    admin,
    reportId: draft.id,
    studyId: item.studyId,
    seriesId: item.seriesId,
    instanceId: item.instanceId,
    jobId: job.id,
    segmentationId: segmentation!.segmentation.id,
    studyUid: meta.studyInstanceUid!,
    seriesUid: meta.seriesInstanceUid!,
    sopUid: meta.sopInstanceUid!,
    dicom: made.data,
  };
});

afterAll(async () => {
  delete process.env.GOOGLE_API_KEY;
  delete process.env.GEMINI_BASE_URL;
  resetEnvForTests();
  await gemini.close();
});

afterAll(() => {
  const count = (f: (r: Row) => boolean) => results.filter(f).length;
  const summary = {
    entries: new Set(results.map((r) => r.key)).size,
    pairs: results.length,
    expectedAllow: count((r) => r.expected === 'allow'),
    allowed: count((r) => r.expected === 'allow' && !r.denied),
    expectedDeny: count((r) => r.expected === 'deny'),
    denied: count((r) => r.expected === 'deny' && r.denied),
    deniedAndAudited: count((r) => r.expected === 'deny' && r.denied && r.audited),
    absent: count((r) => r.expected === 'absent'),
    unexpectedAllows: count((r) => r.expected !== 'allow' && !r.denied),
    unexpectedDenials: count((r) => r.expected === 'allow' && r.denied),
  };
  console.log(`[authz-matrix] route handlers: ${JSON.stringify(summary)}`);
});

describe('authorization matrix: route handlers', () => {
  it('has a policy and a request for every discovered route and method', () => {
    expect(discovered.length).toBeGreaterThan(50);
    const problems = [
      ...missingPolicies(discovered, API_POLICY, 'API_POLICY'),
      ...discovered.filter((k) => k in API_POLICY && !(k in REQUESTS)).map((k) => `no request for "${k}": add one to REQUESTS in lib/api/authz-matrix.test.ts`),
      ...Object.keys(API_POLICY).filter((k) => !discovered.includes(k)).map((k) => `API_POLICY names "${k}", which no route file exports`),
    ];
    expect(problems).toEqual([]);
  });

  it.each(discovered.filter((k) => k in API_POLICY && k in REQUESTS))('%s', async (key) => {
    const policy = API_POLICY[key]!;
    const failures: string[] = [];
    for (const principal of PRINCIPALS) {
      const expected = expectedOutcome(policy, principal);
      const caller = await callerFor(principal, policy.scope ?? null);
      const built = await REQUESTS[key]!(fixture, caller);
      const userAgent = `authz-matrix ${randomUUID()}`;
      const res = await send({ method: key.split(' ')[0], ...built }, caller, userAgent);
      await res.arrayBuffer();
      // A method that serves nothing answers an allowed caller 404, and that 404 is no refusal.
      const denied = [401, 403, 404].includes(res.status) && !(expected === 'allow' && policy.notServed && res.status === 404);
      const rows = await findAuditEntriesByUserAgent(await getDb(), userAgent);
      const audited = rows.some((r) => r.outcome === 'denied' || r.outcome === 'failure');
      results.push({ key, principal, expected, status: res.status, denied, audited });
      if (res.status >= 500) failures.push(`${principal}: ${res.status} (a server error is neither an allow nor a refusal)`);
      else if (expected === 'absent' && res.status !== 404) failures.push(`${principal}: expected 404 (no such resource), got ${res.status}`);
      else if (expected === 'deny' && !denied) failures.push(`${principal}: UNEXPECTED ALLOW, got ${res.status}`);
      else if (expected === 'deny' && !audited) failures.push(`${principal}: refused with ${res.status} but no audit row (denied/failure) was written`);
      else if (expected === 'allow' && denied) failures.push(`${principal}: unexpectedly refused with ${res.status}`);
    }
    expect(failures).toEqual([]);
  });
});

describe('authorization matrix: another owner’s resources', () => {
  const owned = Object.entries(API_POLICY).filter(([key, p]) => p.owned && key in REQUESTS && discovered.includes(key));

  it.each(owned.map(([key]) => key))('%s answers 404 to a caller who does not own it, and audits it', async (key) => {
    // The radiologist owns it; the clinician (a role that may call the route) asks for it.
    const radiologist = users.get('radiologist')!;
    const owner: Caller = { name: 'radiologist', headers: { cookie: sessionCookies.get('radiologist')! }, owner: { userId: radiologist.id, tokenId: null } };
    const built = await REQUESTS[key]!(fixture, owner);
    const stranger = await callerFor('clinician', null);
    const userAgent = `authz-matrix ${randomUUID()}`;
    const res = await send({ method: key.split(' ')[0], ...built }, stranger, userAgent);
    await res.arrayBuffer();
    expect(res.status).toBe(404);
    const rows = await findAuditEntriesByUserAgent(await getDb(), userAgent);
    // Owner-scoped lookups cannot tell another's resource from a missing one: denied or failure.
    expect(rows.some((r) => r.outcome === 'denied' || r.outcome === 'failure')).toBe(true);
    results.push({ key: `${key} (not owner)`, principal: 'clinician', expected: 'deny', status: res.status, denied: true, audited: true });
  });
});

describe('sessions are revocable and expire', () => {
  const me = async (cookie: string) => {
    const userAgent = `authz-matrix ${randomUUID()}`;
    const res = await send({ path: '/api/me' }, { name: 'anonymous', headers: { cookie }, owner: { userId: null, tokenId: null } }, userAgent);
    const rows = await findAuditEntriesByUserAgent(await getDb(), userAgent);
    return { status: res.status, body: await res.json(), audit: rows.map((r) => [r.outcome, r.details.reason]) };
  };

  afterAll(() => {
    delete process.env.SESSION_IDLE_SECONDS;
    delete process.env.SESSION_MAX_AGE_SECONDS;
    resetEnvForTests();
  });

  it('a role change, disabling and sign-out end an open session at its next request', async () => {
    const admin = actorOfUser(users.get('admin')!);
    for (const change of ['role', 'disable', 'sign-out'] as const) {
      const user = await createTestUser('radiologist');
      const cookie = await cookieFor(user);
      expect((await me(cookie)).body).toMatchObject({ kind: 'user', id: user.id, role: 'radiologist' });
      const changedAt = Date.now();
      if (change === 'role') await changeUser(user.id, { role: 'viewer' }, admin);
      if (change === 'disable') await changeUser(user.id, { disabled: true }, admin);
      if (change === 'sign-out') await endSession(sessionIdOf.get(cookie));
      const after = await me(cookie);
      // The very next request, well within the 60 s the issue allows.
      expect(Date.now() - changedAt).toBeLessThan(60_000);
      expect(after.status, change).toBe(401);
      expect(after.audit).toEqual([['failure', 'session_ended']]);
    }
  });

  it('ends after SESSION_IDLE_SECONDS without activity and SESSION_MAX_AGE_SECONDS after sign-in', async () => {
    process.env.SESSION_MAX_AGE_SECONDS = '600';
    process.env.SESSION_IDLE_SECONDS = '120';
    resetEnvForTests();
    const user = await createTestUser('clinician');
    const ago = (s: number) => new Date(Date.now() - s * 1000);
    // Idle: last seen 100 s ago still works; 180 s ago does not (the JWT itself is fresh).
    expect((await me(await cookieFor(user, ago(100)))).status).toBe(200);
    const idle = await me(await cookieFor(user, ago(180)));
    expect(idle.status).toBe(401);
    expect(idle.audit).toEqual([['failure', 'session_ended']]);
    // Absolute: signed in 590 s ago and active every minute works; 610 s ago does not, however active.
    const db = await getDb();
    const young = await cookieFor(user, ago(590));
    await touchSession(db, sessionIdOf.get(young)!, new Date(), 0);
    expect((await me(young)).status).toBe(200);
    const old = await cookieFor(user, ago(610));
    await touchSession(db, sessionIdOf.get(old)!, new Date(), 0);
    expect((await me(old)).status).toBe(401);
  });
});

describe('cross-site requests', () => {
  const unsafe = discovered.filter((k) => !/^(GET|HEAD|OPTIONS) /.test(k) && Array.isArray(API_POLICY[k]?.access) && k in REQUESTS);

  it.each(unsafe)('%s with a signed-in admin’s cookie and a foreign Origin is refused and audited', async (key) => {
    const admin: Caller = { name: 'admin', headers: { cookie: sessionCookies.get('admin')! }, owner: { userId: users.get('admin')!.id, tokenId: null } };
    const built = await REQUESTS[key]!(fixture, admin);
    const userAgent = `authz-matrix ${randomUUID()}`;
    const res = await send({ method: key.split(' ')[0], ...built, headers: { ...built.headers, origin: 'https://evil.example' } }, admin, userAgent);
    expect(res.status).toBe(403);
    const rows = await findAuditEntriesByUserAgent(await getDb(), userAgent);
    expect(rows.map((r) => [r.outcome, r.details.reason])).toEqual([['denied', 'cross_site']]);
  });

  it('changes nothing: a cross-site PATCH leaves the study as it was; the same request from the app goes through', async () => {
    const admin: Caller = { name: 'admin', headers: { cookie: sessionCookies.get('admin')! }, owner: { userId: users.get('admin')!.id, tokenId: null } };
    const priority = async () => (await (await send({ path: `/api/studies/${fixture.studyId}` }, admin, 'authz-check')).json()).study.priority;
    const before = await priority();
    const change = { path: `/api/studies/${fixture.studyId}`, method: 'PATCH', json: { priority: before === 'stat' ? 'routine' : 'stat' } };
    expect((await send({ ...change, headers: { origin: 'https://evil.example' } }, admin, 'authz-check')).status).toBe(403);
    expect(await priority()).toBe(before);
    const sameSite = await send({ ...change, headers: { origin: 'http://app.test' } }, admin, 'authz-check');
    expect(sameSite.status).toBe(200);
    expect(await priority()).toBe(change.json.priority);
  });
});
