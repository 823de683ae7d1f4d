/**
 * The authorization matrix against the production server, over HTTP: every page (app/**\/page.tsx)
 * and every server action (from the build's server-reference manifest) is called by every
 * principal of lib/testing/authz-policy.ts, and the discovery fails for any page or action the
 * policy does not name. Also here: the tus methods and the image route over real HTTP,
 * cross-site posts (refused, nothing changed), and sessions ending at sign-out, disabling, a role
 * change and the idle and absolute limits. Route handlers as a whole are in
 * lib/api/authz-matrix.test.ts.
 */
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { expect, test } from '@playwright/test';
import postgres from 'postgres';
import { ACTION_POLICY, API_POLICY, expectedOutcome, missingPolicies, PAGE_POLICY, PRINCIPALS, ROLES, type Expectation, type PrincipalName } from '@/lib/testing/authz-policy';
import { studyFixture } from '@/lib/testing/study-fixture';
import { ADMIN } from './support/pages';

test.describe.configure({ mode: 'serial' });

const PORT = Number(process.env.E2E_PORT ?? 3100);
const BASE = `http://127.0.0.1:${PORT}`;
const dbUrl = (() => {
  const url = new URL(process.env.TEST_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres');
  url.pathname = `/imaging_e2e_${PORT}`;
  return url.toString();
})();
const sql = postgres(dbUrl, { max: 2, onnotice: () => {} });
const PASSWORD = 'authz matrix passphrase';
const RUN = Date.now().toString(36);

// ---------------------------------------------------------------------------------------------
// Discovery

function walk(dir: string, name: string, out: string[] = []): string[] {
  for (const entry of readdirSync(dir)) {
    const full = path.join(dir, entry);
    if (statSync(full).isDirectory()) walk(full, name, out);
    else if (entry === name) out.push(full);
  }
  return out;
}

/** '/studies/[id]' for app/(app)/studies/[id]/page.tsx. */
const pages = walk('app', 'page.tsx')
  .map((file) => '/' + path.dirname(path.relative('app', file)).split(path.sep).filter((s) => s !== '.' && !/^\(.*\)$/.test(s)).join('/'))
  .sort();

interface ActionRef {
  id: string;
  key: string;
  /** A page whose bundle holds the action (where the browser would post it). */
  page: string;
}

function actionsOfBuild(): ActionRef[] {
  const manifest = JSON.parse(readFileSync('.next/server/server-reference-manifest.json', 'utf8')) as {
    node: Record<string, { filename?: string; exportedName?: string; workers: Record<string, unknown> }>;
  };
  return Object.entries(manifest.node).map(([id, entry]) => {
    const worker = Object.keys(entry.workers)[0]!;
    const page = '/' + worker.replace(/^app\//, '').replace(/\/?page$/, '').split('/').filter((s) => !/^\(.*\)$/.test(s)).join('/');
    return { id, key: `${entry.filename}#${entry.exportedName}`, page };
  });
}

// ---------------------------------------------------------------------------------------------
// HTTP helpers: cookies, server actions, audit rows

interface Who {
  name: PrincipalName;
  cookie?: string;
  bearer?: string;
  userId?: string;
}

function headersOf(who: Who, userAgent: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    'user-agent': userAgent,
    ...(who.cookie ? { cookie: who.cookie } : {}),
    ...(who.bearer ? { authorization: `Bearer ${who.bearer}` } : {}),
    ...extra,
  };
}

const ua = () => `authz-e2e ${randomUUID()}`;

function form(fields: Record<string, string | string[]>): FormData {
  const data = new FormData();
  for (const [k, v] of Object.entries(fields)) for (const value of Array.isArray(v) ? v : [v]) data.append(k, value);
  return data;
}

/**
 * Calls a server action as React's client does (encodeReply): JSON arguments as text/plain, or
 * multipart when an argument is a FormData ("$K1" refers to the fields "_1_<name>").
 */
async function callAction(action: ActionRef, args: unknown[], who: Who, userAgent: string, extra: Record<string, string> = {}) {
  const headers: Record<string, string> = { ...headersOf(who, userAgent, extra), 'next-action': action.id, accept: 'text/x-component' };
  let body: BodyInit;
  if (args.some((a) => a instanceof FormData)) {
    const multipart = new FormData();
    let ref = 0;
    const encoded = args.map((a) => {
      if (!(a instanceof FormData)) return a;
      const id = ++ref;
      a.forEach((value, name) => multipart.append(`_${id}_${name}`, value));
      return `$K${id.toString(16)}`;
    });
    multipart.append('0', JSON.stringify(encoded));
    body = multipart;
  } else {
    body = JSON.stringify(args);
    headers['content-type'] = 'text/plain;charset=UTF-8';
  }
  const res = await fetch(`${BASE}${action.page}`, { method: 'POST', headers, body, redirect: 'manual' });
  const text = await res.text();
  return { status: res.status, text, headers: res.headers, state: /"ok":"/.test(text) ? 'ok' : /"(error|fieldErrors)":/.test(text) ? 'error' : null };
}

async function auditRows(userAgent: string) {
  return sql<{ action: string; outcome: string; details: Record<string, unknown> }[]>`select action, outcome, details from audit_log where user_agent = ${userAgent} order by id`;
}

const sessionCookieOf = (res: { headers: Headers }) =>
  res.headers
    .getSetCookie()
    .map((c) => c.split(';')[0]!)
    .find((c) => c.startsWith('authjs.session-token=') && c.length > 'authjs.session-token='.length);

let actions: ActionRef[] = [];
const action = (key: string) => {
  const found = actions.find((a) => a.key === key);
  if (!found) throw new Error(`no server action ${key} in the build`);
  return found;
};

async function signIn(email: string, password = PASSWORD): Promise<string> {
  const res = await callAction(action('app/(auth)/sign-in/actions.ts#signInAction'), [{}, form({ email, password, callbackUrl: '/' })], { name: 'anonymous' }, 'authz-e2e setup');
  const cookie = sessionCookieOf(res);
  if (!cookie) throw new Error(`sign-in as ${email} failed: ${res.status} ${res.text.slice(0, 300)}`);
  return cookie;
}

async function userId(email: string): Promise<string> {
  const [row] = await sql<{ id: string }[]>`select id from users where email = ${email}`;
  if (!row) throw new Error(`no user ${email}`);
  return row.id;
}

async function api(method: string, url: string, who: Who, body?: unknown) {
  const res = await fetch(`${BASE}${url}`, {
    method,
    headers: headersOf(who, 'authz-e2e setup', body === undefined ? {} : { 'content-type': 'application/json' }),
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text && res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text };
}

// ---------------------------------------------------------------------------------------------
// The principals

const who = new Map<PrincipalName, Who>();
const tokens = { lacking: '', withScope: '', viewer: '' };
let admin: Who;
let studyId = '';
let victimEmail = '';

async function createUser(role: string, label: string): Promise<string> {
  const email = `${label}-${RUN}@hospital.test`;
  const res = await callAction(action('app/(app)/admin/users/actions.ts#createUserAction'), [{}, form({ email, name: `${label} ${RUN}`, password: PASSWORD, role })], admin, 'authz-e2e setup');
  expect(res.state, `create ${email}: ${res.text.slice(0, 200)}`).toBe('ok');
  return email;
}

test.beforeAll(async () => {
  actions = actionsOfBuild();
  // The administrator: the first-run screen when this spec runs alone, the account auth.spec made otherwise.
  const setup = await fetch(`${BASE}/sign-in`, { redirect: 'manual' });
  let adminCookie: string | undefined;
  if (setup.status >= 300 && setup.status < 400 && setup.headers.get('location')?.includes('/setup')) {
    const made = await callAction(action('app/(auth)/setup/actions.ts#createFirstAdminAction'), [{}, form({ ...ADMIN, confirm: ADMIN.password })], { name: 'anonymous' }, 'authz-e2e setup');
    adminCookie = sessionCookieOf(made);
  } else {
    adminCookie = await signIn(ADMIN.email, ADMIN.password);
  }
  admin = { name: 'admin', cookie: adminCookie, userId: await userId(ADMIN.email) };
  // The matrix's administrator is an account of its own: what it creates (saved searches, tokens)
  // and its sign-outs must not change the first administrator the other specs sign in as.
  const matrixAdmin = await createUser('admin', 'authz-admin');
  admin = { name: 'admin', cookie: await signIn(matrixAdmin), userId: await userId(matrixAdmin) };
  who.set('admin', admin);

  for (const role of ROLES.filter((r) => r !== 'admin')) {
    const email = await createUser(role, `authz-${role}`);
    who.set(role, { name: role, cookie: await signIn(email), userId: await userId(email) });
  }
  // A session whose user is then disabled; one signed out; one past its absolute limit.
  const disabledEmail = await createUser('radiologist', 'authz-disabled');
  const disabledCookie = await signIn(disabledEmail);
  const disabled = await callAction(action('app/(app)/admin/users/actions.ts#updateUserAction'), [{}, form({ userId: await userId(disabledEmail), disabled: 'true' })], admin, 'authz-e2e setup');
  expect(disabled.state).toBe('ok');
  who.set('disabled', { name: 'disabled', cookie: disabledCookie });
  const signedOutCookie = await signIn(await createUser('clinician', 'authz-signed-out'));
  await callAction(action('app/(app)/actions.ts#signOutAction'), [], { name: 'signed-out', cookie: signedOutCookie }, 'authz-e2e setup');
  who.set('signed-out', { name: 'signed-out', cookie: signedOutCookie });
  const expiredEmail = await createUser('admin', 'authz-expired');
  const expiredCookie = await signIn(expiredEmail);
  await sql`update user_sessions set expires_at = now() - interval '1 second' where user_id = ${await userId(expiredEmail)}`;
  who.set('expired', { name: 'expired', cookie: expiredCookie });
  who.set('anonymous', { name: 'anonymous' });
  victimEmail = await createUser('viewer', 'authz-victim');

  const token = async (role: string, scopes: string[]) => {
    const res = await api('POST', '/api/tokens', admin, { name: `authz ${role} ${scopes.join(' ')} ${randomUUID()}`, role, scopes });
    expect(res.status).toBe(201);
    return res.body as { token: { id: string }; secret: string };
  };
  const revoked = await token('admin', ['studies:read', 'studies:write']);
  expect((await api('DELETE', `/api/tokens/${revoked.token.id}`, admin)).status).toBe(200);
  who.set('token-revoked', { name: 'token-revoked', bearer: revoked.secret });
  // For pages and actions a token is never enough, whatever it holds.
  tokens.withScope = (await token('admin', ['studies:read', 'studies:write'])).secret;
  tokens.lacking = (await token('admin', ['dicomweb:read'])).secret;
  tokens.viewer = (await token('viewer', ['studies:read', 'studies:write'])).secret;
  who.set('token-with-scope', { name: 'token-with-scope', bearer: tokens.withScope });
  who.set('token-lacking-scope', { name: 'token-lacking-scope', bearer: tokens.lacking });
  who.set('token-viewer', { name: 'token-viewer', bearer: tokens.viewer });

  // A study to open (STOW-RS with an admin token, as a PACS would send it).
  const fixture = studyFixture('ct_small_explicit_le');
  const stowToken = (await token('admin', ['dicomweb:write', 'studies:read'])).secret;
  const boundary = 'authz-e2e';
  const stow = await fetch(`${BASE}/dicomweb/studies`, {
    method: 'POST',
    headers: { authorization: `Bearer ${stowToken}`, 'content-type': `multipart/related; type="application/dicom"; boundary=${boundary}` },
    body: Buffer.concat([Buffer.from(`--${boundary}\r\nContent-Type: application/dicom\r\n\r\n`), fixture.data, Buffer.from(`\r\n--${boundary}--\r\n`)]),
  });
  expect(stow.status).toBe(200);
  const listed = await api('GET', `/api/studies?q=${encodeURIComponent(fixture.patientId)}`, { name: 'token-with-scope', bearer: stowToken });
  studyId = listed.body.studies[0].id;
  expect(studyId).toMatch(/^[0-9a-f-]{36}$/);
});

test.afterAll(async () => {
  await sql.end();
});

// ---------------------------------------------------------------------------------------------
// The matrix

interface Row {
  kind: 'page' | 'action' | 'route';
  key: string;
  principal: PrincipalName;
  expected: Expectation;
  status: number;
  denied: boolean;
  audited: boolean;
  /** Refused before the app knew who it was (no cookie: proxy.ts sends the browser to sign-in). */
  anonymousRedirect: boolean;
}
const rows: Row[] = [];

function summarise(kind: Row['kind']) {
  const of = rows.filter((r) => r.kind === kind);
  const count = (f: (r: Row) => boolean) => of.filter(f).length;
  return {
    entries: new Set(of.map((r) => r.key)).size,
    pairs: of.length,
    expectedAllow: count((r) => r.expected === 'allow'),
    allowed: count((r) => r.expected === 'allow' && !r.denied),
    expectedDeny: count((r) => r.expected === 'deny'),
    denied: count((r) => r.expected === 'deny' && r.denied),
    deniedAndAudited: count((r) => r.expected === 'deny' && r.denied && r.audited),
    deniedByProxyRedirect: count((r) => r.expected === 'deny' && r.anonymousRedirect),
    unexpectedAllows: count((r) => r.expected === 'deny' && !r.denied),
    unexpectedDenials: count((r) => r.expected === 'allow' && r.denied),
  };
}

test('every page and server action has an authorization policy', () => {
  const problems = [
    ...missingPolicies(pages, PAGE_POLICY, 'PAGE_POLICY'),
    ...Object.keys(PAGE_POLICY).filter((p) => !pages.includes(p)).map((p) => `PAGE_POLICY names "${p}", which is no page`),
    ...missingPolicies(actions.map((a) => a.key), ACTION_POLICY, 'ACTION_POLICY'),
    ...Object.keys(ACTION_POLICY).filter((k) => !actions.some((a) => a.key === k)).map((k) => `ACTION_POLICY names "${k}", which the build has no server action for`),
  ];
  expect(pages.length).toBeGreaterThanOrEqual(8);
  expect(actions.length).toBeGreaterThanOrEqual(11);
  expect(problems).toEqual([]);
});

test('pages: every principal gets exactly what the policy allows', async () => {
  const failures: string[] = [];
  for (const page of pages) {
    const policy = PAGE_POLICY[page];
    if (!policy) continue;
    const url = page.replace('[id]', studyId);
    for (const principal of PRINCIPALS) {
      const caller = who.get(principal)!;
      const expected = expectedOutcome(policy, principal);
      const userAgent = ua();
      const res = await fetch(`${BASE}${url}`, { headers: headersOf(caller, userAgent), redirect: 'manual' });
      await res.arrayBuffer();
      const location = res.headers.get('location') ?? '';
      const toSignIn = res.status >= 300 && res.status < 400 && /\/sign-in/.test(location);
      // Public pages are served to anyone (/setup sending everyone to sign-in once set up is its job).
      const denied = policy.access !== 'public' && (res.status === 404 || res.status === 403 || toSignIn);
      const audit = await auditRows(userAgent);
      const audited = audit.some((r) => r.outcome === 'denied' || r.outcome === 'failure');
      const anonymousRedirect = denied && !caller.cookie && toSignIn;
      rows.push({ kind: 'page', key: page, principal, expected, status: res.status, denied, audited, anonymousRedirect });
      if (res.status >= 500) failures.push(`${page} ${principal}: ${res.status}`);
      else if (expected === 'deny' && !denied) failures.push(`${page} ${principal}: UNEXPECTED ALLOW (${res.status})`);
      else if (expected === 'deny' && !audited && !anonymousRedirect) failures.push(`${page} ${principal}: refused (${res.status}) without an audit row`);
      else if (expected === 'allow' && policy.access !== 'public' && denied) failures.push(`${page} ${principal}: unexpectedly refused (${res.status} ${location})`);
    }
  }
  console.log(`[authz-matrix] pages: ${JSON.stringify(summarise('page'))}`);
  expect(failures).toEqual([]);
});

/** Arguments an allowed caller would send; owned things are made for the caller first. */
/** A fresh draft report of the study (an admin has the model draft one), for edit and sign calls. */
async function draftReport(): Promise<string> {
  const generate = actions.find((a) => a.key.endsWith('studies/[id]/actions.ts#generateReportAction'))!;
  const made = await callAction(generate, [studyId], admin, 'authz-e2e setup');
  expect(made.state, made.text.slice(0, 300)).toBe('ok');
  const listed = await api('GET', `/api/studies/${studyId}/reports`, admin);
  const draft = (listed.body.reports as { id: string; status: string }[]).find((r) => r.status === 'draft');
  expect(draft, 'a draft report to edit or sign').toBeDefined();
  return draft!.id;
}

async function argsFor(key: string, caller: Who): Promise<unknown[]> {
  switch (key) {
    case 'app/(app)/actions.ts#changeStudyWorkflowAction':
      // Alternating, so that every allowed call is a change (and audited as one).
      return [studyId, { priority: rows.length % 2 ? 'urgent' : 'stat' }];
    case 'app/(app)/actions.ts#reprocessStudyAction':
      return [studyId];
    case 'app/(app)/actions.ts#saveSearchAction':
      return [{}, form({ name: `authz ${randomUUID()}`, query: 'priority=urgent' })];
    case 'app/(app)/actions.ts#deleteSavedSearchAction': {
      const owner = caller.cookie && (await api('GET', '/api/me', caller)).status === 200 ? caller : admin;
      const made = await api('POST', '/api/saved-searches', owner, { name: `authz ${randomUUID()}`, filters: {} });
      expect(made.status).toBe(201);
      return [{}, form({ id: made.body.savedSearch.id })];
    }
    case 'app/(app)/actions.ts#signOutAction':
      return [];
    case 'app/(app)/studies/[id]/actions.ts#generateReportAction':
      return [studyId];
    case 'app/(app)/studies/[id]/actions.ts#saveReportAction':
    case 'app/(app)/studies/[id]/actions.ts#signReportAction':
      return [studyId, await draftReport(), { technique: 'CT head', findings: 'No bleed.', impression: 'Normal.' }];
    case 'app/(app)/admin/users/actions.ts#createUserAction':
      return [{}, form({ email: `authz-made-${randomUUID()}@hospital.test`, name: 'Made by matrix', password: PASSWORD, role: 'viewer' })];
    case 'app/(app)/admin/users/actions.ts#updateUserAction':
      return [{}, form({ userId: await userId(victimEmail), role: rows.length % 2 ? 'clinician' : 'viewer' })];
    case 'app/(app)/admin/tokens/actions.ts#createTokenAction':
      return [{}, form({ name: `authz ${randomUUID()}`, role: 'viewer', scopes: ['studies:read'] })];
    case 'app/(app)/admin/tokens/actions.ts#revokeTokenAction': {
      const made = await api('POST', '/api/tokens', admin, { name: `authz revoke ${randomUUID()}`, role: 'viewer', scopes: ['studies:read'] });
      return [{}, form({ tokenId: made.body.token.id })];
    }
    case 'app/(auth)/sign-in/actions.ts#signInAction':
      // Empty fields: answered before any password check, so the matrix never trips the throttle.
      return [{}, form({ email: '', password: '' })];
    case 'app/(auth)/setup/actions.ts#createFirstAdminAction':
      return [{}, form({ name: 'Intruder', email: `intruder-${randomUUID()}@evil.example`, password: PASSWORD, confirm: PASSWORD })];
    default:
      throw new Error(`no arguments for ${key}: add them to argsFor in e2e/authz.spec.ts`);
  }
}

test('server actions: every principal gets exactly what the policy allows, and refusals are audited', async () => {
  const failures: string[] = [];
  // Signing out last: it ends the sessions the other actions are called with.
  const ordered = [...actions].sort((a, b) => Number(a.key.endsWith('#signOutAction')) - Number(b.key.endsWith('#signOutAction')));
  for (const ref of ordered) {
    const policy = ACTION_POLICY[ref.key];
    if (!policy) continue;
    for (const principal of PRINCIPALS) {
      const caller = who.get(principal)!;
      const expected = expectedOutcome(policy, principal);
      const userAgent = ua();
      const res = await callAction(ref, await argsFor(ref.key, caller), caller, userAgent);
      const audit = await auditRows(userAgent);
      const audited = audit.some((r) => r.outcome === 'denied' || r.outcome === 'failure');
      const succeeded = audit.some((r) => r.outcome === 'success');
      // A returned state says ok or error; sign-out redirects, so its audit row tells.
      // Public actions run for anyone; what they answer (a form error, a redirect) is theirs.
      const denied = policy.access !== 'public' && (ref.key.endsWith('#signOutAction') ? !succeeded : res.state !== 'ok');
      rows.push({ kind: 'action', key: ref.key, principal, expected, status: res.status, denied, audited, anonymousRedirect: false });
      if (res.status >= 500) failures.push(`${ref.key} ${principal}: ${res.status} ${res.text.slice(0, 200)}`);
      else if (policy.access === 'public') continue;
      else if (expected === 'deny' && !denied) failures.push(`${ref.key} ${principal}: UNEXPECTED ALLOW`);
      else if (expected === 'deny' && succeeded) failures.push(`${ref.key} ${principal}: refused but a success was audited`);
      else if (expected === 'deny' && !audited) failures.push(`${ref.key} ${principal}: refused without an audit row`);
      else if (expected === 'allow' && denied) failures.push(`${ref.key} ${principal}: unexpectedly refused: ${res.text.slice(0, 200)}`);
    }
  }
  console.log(`[authz-matrix] server actions: ${JSON.stringify(summarise('action'))}`);
  expect(failures).toEqual([]);
});

test('tus methods and the image route over HTTP: every principal gets exactly what the policy allows', async () => {
  // The sign-out above ended the role sessions: sign in again.
  for (const role of ROLES) {
    const cookie = await signIn(`authz-${role}-${RUN}@hospital.test`);
    who.set(role, { ...who.get(role)!, cookie });
  }
  admin = who.get('admin')!;
  const TUS = { 'tus-resumable': '1.0.0' };
  const create = (caller: Who) => fetch(`${BASE}/api/upload`, { method: 'POST', headers: headersOf(caller, 'authz-e2e setup', { ...TUS, 'upload-length': '10' }) });
  const ownUpload = async (caller: Who) => {
    let res = await create(caller);
    if (res.status !== 201) res = await create(admin);
    expect(res.status).toBe(201);
    return new URL(res.headers.get('location')!, BASE).pathname;
  };
  const cases: Record<string, (caller: Who) => Promise<{ url: string; init: RequestInit & { headers: Record<string, string> } }>> = {
    'POST /api/upload/[[...path]]': async () => ({ url: '/api/upload', init: { method: 'POST', headers: { ...TUS, 'upload-length': '10' } } }),
    'HEAD /api/upload/[[...path]]': async (c) => ({ url: await ownUpload(c), init: { method: 'HEAD', headers: TUS } }),
    'PATCH /api/upload/[[...path]]': async (c) => ({
      url: await ownUpload(c),
      init: { method: 'PATCH', headers: { ...TUS, 'upload-offset': '0', 'content-type': 'application/offset+octet-stream' }, body: new Uint8Array([1, 2, 3]) },
    }),
    'DELETE /api/upload/[[...path]]': async (c) => ({ url: await ownUpload(c), init: { method: 'DELETE', headers: TUS } }),
    'OPTIONS /api/upload/[[...path]]': async () => ({ url: '/api/upload', init: { method: 'OPTIONS', headers: TUS } }),
    'GET /api/studies/[id]/image': async () => ({ url: `/api/studies/${studyId}/image?size=32`, init: { headers: {} } }),
  };
  const failures: string[] = [];
  for (const [key, build] of Object.entries(cases)) {
    const policy = API_POLICY[key]!;
    for (const principal of PRINCIPALS) {
      // The tokens hold studies:read and studies:write (with scope, viewer) or neither (lacking).
      const caller = who.get(principal)!;
      const expected = expectedOutcome(policy, principal);
      const { url, init } = await build(caller);
      const userAgent = ua();
      const res = await fetch(`${BASE}${url}`, { ...init, headers: headersOf(caller, userAgent, init.headers) });
      await res.arrayBuffer();
      const denied = [401, 403, 404].includes(res.status);
      const audited = (await auditRows(userAgent)).some((r) => r.outcome === 'denied' || r.outcome === 'failure');
      rows.push({ kind: 'route', key, principal, expected, status: res.status, denied, audited, anonymousRedirect: false });
      if (res.status >= 500) failures.push(`${key} ${principal}: ${res.status}`);
      else if (expected === 'deny' && !denied) failures.push(`${key} ${principal}: UNEXPECTED ALLOW (${res.status})`);
      else if (expected === 'deny' && !audited) failures.push(`${key} ${principal}: refused (${res.status}) without an audit row`);
      else if (expected === 'allow' && denied) failures.push(`${key} ${principal}: unexpectedly refused (${res.status})`);
    }
  }
  console.log(`[authz-matrix] tus and image over HTTP: ${JSON.stringify(summarise('route'))}`);
  expect(failures).toEqual([]);
});

test('cross-site posts are refused and change nothing', async () => {
  const evil = { origin: 'https://evil.example' };
  const priority = async () => (await sql<{ priority: string }[]>`select priority from studies where id = ${studyId}`)[0]!.priority;
  const before = await priority();

  // Every server action, posted by another site with the admin's cookie: refused before it runs.
  for (const ref of actions) {
    const userAgent = ua();
    const res = await callAction(ref, await argsFor(ref.key, admin), admin, userAgent, evil);
    expect(res.status, ref.key).toBe(403);
    expect((await auditRows(userAgent)).filter((r) => r.outcome === 'success'), ref.key).toEqual([]);
  }
  expect(await priority()).toBe(before);

  // A plain HTML form (no JavaScript) posting to the users page: no account appears.
  const email = `csrf-${randomUUID()}@hospital.test`;
  const formPost = await fetch(`${BASE}/admin/users`, {
    method: 'POST',
    headers: { cookie: admin.cookie!, ...evil },
    body: form({ [`$ACTION_ID_${action('app/(app)/admin/users/actions.ts#createUserAction').id}`]: '', email, name: 'CSRF', password: PASSWORD, role: 'admin' }),
    redirect: 'manual',
  });
  expect(formPost.status).toBe(403);
  expect(await sql`select id from users where email = ${email}`).toHaveLength(0);

  // API and tus with the cookie from another site: 403, nothing changed or created.
  const patch = await fetch(`${BASE}/api/studies/${studyId}`, {
    method: 'PATCH',
    headers: { cookie: admin.cookie!, 'content-type': 'application/json', ...evil },
    body: JSON.stringify({ priority: before === 'stat' ? 'routine' : 'stat' }),
  });
  expect(patch.status).toBe(403);
  expect(await priority()).toBe(before);
  const uploadsBefore = (await sql`select count(*)::int as n from uploads`)[0]!.n;
  const tus = await fetch(`${BASE}/api/upload`, { method: 'POST', headers: { cookie: admin.cookie!, 'tus-resumable': '1.0.0', 'upload-length': '10', ...evil } });
  expect(tus.status).toBe(403);
  expect((await sql`select count(*)::int as n from uploads`)[0]!.n).toBe(uploadsBefore);

  // Auth.js's own endpoints: a cross-site sign-out does not end the session, a cross-site
  // credentials post does not open one (both need its CSRF token).
  await fetch(`${BASE}/api/auth/signout`, { method: 'POST', headers: { cookie: admin.cookie!, 'content-type': 'application/x-www-form-urlencoded', ...evil }, body: 'callbackUrl=/', redirect: 'manual' });
  expect((await api('GET', '/api/me', admin)).status).toBe(200);
  const login = await fetch(`${BASE}/api/auth/callback/credentials`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...evil },
    body: new URLSearchParams({ email: ADMIN.email, password: ADMIN.password }).toString(),
    redirect: 'manual',
  });
  expect(sessionCookieOf(login)).toBeUndefined();

  // The same change from the app itself goes through.
  const sameSite = await fetch(`${BASE}/api/studies/${studyId}`, {
    method: 'PATCH',
    headers: { cookie: admin.cookie!, 'content-type': 'application/json', origin: BASE },
    body: JSON.stringify({ priority: before === 'stat' ? 'routine' : 'stat' }),
  });
  expect(sameSite.status).toBe(200);
  expect(await priority()).not.toBe(before);
});

test('a session ends at its next request after a role change, disabling or sign-out, and at the idle and absolute limits', async () => {
  const me = async (cookie: string) => (await fetch(`${BASE}/api/me`, { headers: { cookie } })).status;
  const page = async (cookie: string) => {
    const res = await fetch(`${BASE}/`, { headers: { cookie }, redirect: 'manual' });
    return res.status >= 300 && res.status < 400 ? `redirect ${new URL(res.headers.get('location')!, BASE).pathname}` : String(res.status);
  };
  const updateUser = action('app/(app)/admin/users/actions.ts#updateUserAction');
  const changes: Record<string, (email: string, cookie: string) => Promise<void>> = {
    'role change': async (email) => void (await callAction(updateUser, [{}, form({ userId: await userId(email), role: 'viewer' })], admin, 'authz-e2e setup')),
    disabling: async (email) => void (await callAction(updateUser, [{}, form({ userId: await userId(email), disabled: 'true' })], admin, 'authz-e2e setup')),
    'sign-out': async (_email, cookie) => void (await callAction(action('app/(app)/actions.ts#signOutAction'), [], { name: 'radiologist', cookie }, 'authz-e2e setup')),
    'absolute limit': async (email) => void (await sql`update user_sessions set expires_at = now() - interval '1 second' where user_id = ${await userId(email)}`),
    // SESSION_IDLE_SECONDS is 1800 on this server: last seen 31 minutes ago.
    'idle limit': async (email) => void (await sql`update user_sessions set last_seen_at = now() - interval '31 minutes' where user_id = ${await userId(email)}`),
  };
  for (const [change, apply] of Object.entries(changes)) {
    const email = await createUser('radiologist', `authz-${change.replace(/\W+/g, '-')}`);
    const cookie = await signIn(email);
    expect(await me(cookie), change).toBe(200);
    expect(await page(cookie), change).toBe('200');
    const changedAt = Date.now();
    await apply(email, cookie);
    expect(await me(cookie), change).toBe(401);
    expect(await page(cookie), change).toBe('redirect /sign-in');
    // The next request after the change, well within 60 s.
    expect(Date.now() - changedAt, change).toBeLessThan(60_000);
  }
});
