import { and, eq } from 'drizzle-orm';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { getDb } from '@/db';
import { insertApiToken } from '@/db/queries/api-tokens';
import { auditLog } from '@/db/schema';
import { generateApiTokenSecret } from '@/lib/auth/tokens';
import type { CurrentUser } from '@/lib/auth/session';
import { createTestUser } from '@/lib/testing/fixtures';
import { ApiError } from './errors';
import { parseJsonBody, withApi } from './route';

// The session comes from Auth.js's cookie handling, which needs a live Next request; everything
// after it (tokens, roles, errors, audit) runs for real.
const session = vi.hoisted(() => ({ user: null as CurrentUser | null }));
vi.mock('@/lib/auth/session', () => ({ getCurrentUser: async () => session.user }));

async function call(handler: ReturnType<typeof withApi<never>>, init: RequestInit & { url?: string; params?: Record<string, string> } = {}) {
  // A session cookie must be present for the (mocked) session lookup to be consulted at all.
  const headers = new Headers(init.headers);
  if (session.user) headers.set('cookie', 'authjs.session-token=test');
  const res = await handler(new Request(init.url ?? 'http://app.test/api/thing', { ...init, headers }), { params: Promise.resolve(init.params ?? {}) });
  const body = res.headers.get('content-type')?.includes('json') ? await res.json() : await res.text();
  return { status: res.status, body, headers: res.headers };
}

const echo = withApi(async ({ principal }) => ({ id: principal.id, kind: principal.kind, role: principal.role }), { scope: 'none' });

describe('withApi', () => {
  beforeEach(() => {
    session.user = null;
  });

  it('answers 401 in the error shape without a session or token', async () => {
    const res = await call(echo as never);
    expect(res.status).toBe(401);
    expect(res.body).toEqual({ error: { code: 'unauthorized', message: 'Authentication required' } });
  });

  it('accepts a signed-in user', async () => {
    const user = await createTestUser('clinician');
    session.user = { id: user.id, email: user.email, name: user.name, role: user.role };
    expect((await call(echo as never)).body).toEqual({ id: user.id, kind: 'user', role: 'clinician' });
  });

  it('lets a token call only the routes whose scope it holds, and audits refusals', async () => {
    const db = await getDb();
    const secret = generateApiTokenSecret();
    const token = await insertApiToken(db, { name: 'PACS', tokenHash: secret.hash, prefix: secret.prefix, role: 'radiologist', scopes: ['studies:read'] });
    const headers = { authorization: `Bearer ${secret.secret}` };
    const reading = withApi(async () => ({ ok: true }), { scope: 'studies:read' });
    const writing = withApi(async () => ({ ok: true }), { scope: 'studies:write', action: 'thing.write' });
    const undeclared = withApi(async () => ({ ok: true }), { action: 'thing.undeclared' });
    const open = withApi(async () => ({ ok: true }), { scope: 'none' });

    expect((await call(reading as never, { headers })).status).toBe(200);
    expect((await call(open as never, { headers })).status).toBe(200);
    const refused = await call(writing as never, { headers });
    expect(refused.status).toBe(403);
    expect(refused.body.error).toEqual({ code: 'forbidden', message: 'This API token lacks the "studies:write" scope' });
    expect((await call(undeclared as never, { headers })).status).toBe(403);
    const rows = await db.select().from(auditLog).where(and(eq(auditLog.tokenId, token.id), eq(auditLog.outcome, 'denied')));
    expect(rows.map((r) => [r.action, r.details])).toEqual(
      expect.arrayContaining([
        ['thing.write', { reason: 'scope', required: 'studies:write' }],
        ['thing.undeclared', { reason: 'scope', required: null }],
      ]),
    );

    // Sessions are bounded by role alone: scopes do not apply to them.
    const user = await createTestUser('viewer');
    session.user = { id: user.id, email: user.email, name: user.name, role: user.role };
    expect((await call(writing as never)).status).toBe(200);
  });

  it('accepts a valid bearer token and rejects revoked, expired, unknown and malformed ones', async () => {
    const db = await getDb();
    const good = generateApiTokenSecret();
    const token = await insertApiToken(db, { name: 'RIS', tokenHash: good.hash, prefix: good.prefix, role: 'clinician', scopes: ['studies:read'] });
    const revoked = generateApiTokenSecret();
    await insertApiToken(db, { name: 'old', tokenHash: revoked.hash, prefix: revoked.prefix, revokedAt: new Date() });
    const expired = generateApiTokenSecret();
    await insertApiToken(db, { name: 'exp', tokenHash: expired.hash, prefix: expired.prefix, expiresAt: new Date(Date.now() - 1000) });

    const ok = await call(echo as never, { headers: { authorization: `Bearer ${good.secret}` } });
    expect(ok.body).toEqual({ id: token.id, kind: 'token', role: 'clinician' });
    for (const secret of [revoked.secret, expired.secret, generateApiTokenSecret().secret, 'imp_nope']) {
      const res = await call(echo as never, { headers: { authorization: `Bearer ${secret}` } });
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe('unauthorized');
    }
    expect((await call(echo as never, { headers: { authorization: 'Basic abc' } })).status).toBe(401);
  });

  it('answers 403 for a role outside the allowed list and audits the denial', async () => {
    const user = await createTestUser('viewer');
    session.user = { id: user.id, email: user.email, name: user.name, role: user.role };
    const adminOnly = withApi(async () => ({ secret: true }), { roles: ['admin'], action: 'users.list' });
    const res = await call(adminOnly as never);
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe('forbidden');
    const rows = await (await getDb()).select().from(auditLog).where(and(eq(auditLog.userId, user.id), eq(auditLog.action, 'users.list')));
    expect(rows.map((r) => r.outcome)).toEqual(['denied']);
  });

  it('names the study of a refused call in its audit row, and audits calls without credentials', async () => {
    const user = await createTestUser('viewer');
    session.user = { id: user.id, email: user.email, name: user.name, role: user.role };
    const studyId = '3f0c6a52-4a0e-4c55-9a51-2f1f0d4c7a10';
    const handler = withApi(async () => ({ ok: true }), {
      roles: ['admin'],
      action: 'study.update',
      params: z.object({ id: z.string().uuid() }),
      target: (p) => ({ studyId: p.id, resourceType: 'study', resourceId: p.id }),
    });
    expect((await call(handler as never, { params: { id: studyId } })).status).toBe(403);
    const db = await getDb();
    const [denied] = await db.select().from(auditLog).where(and(eq(auditLog.userId, user.id), eq(auditLog.action, 'study.update')));
    expect(denied).toMatchObject({ outcome: 'denied', studyId, resourceType: 'study', details: { reason: 'role' } });

    session.user = null;
    const agent = `route-test ${Date.now()}`;
    expect((await call(handler as never, { params: { id: studyId }, headers: { 'user-agent': agent } })).status).toBe(401);
    const [anonymous] = await db.select().from(auditLog).where(eq(auditLog.userAgent, agent));
    expect(anonymous).toMatchObject({ outcome: 'failure', userId: null, studyId, details: { reason: 'no_credentials' } });
  });

  it('maps validation, JSON, known and unknown errors to clear codes without leaking internals', async () => {
    const user = await createTestUser('clinician');
    session.user = { id: user.id, email: user.email, name: user.name, role: user.role };
    const body = z.object({ name: z.string().min(1) });
    const create = withApi(async ({ req }) => parseJsonBody(req, body));
    const post = (text: string, type = 'application/json') =>
      call(create as never, { method: 'POST', body: text, headers: { 'content-type': type } });

    expect((await post('{"name":"ok"}')).body).toEqual({ name: 'ok' });
    const invalid = await post('{"name":""}');
    expect(invalid.status).toBe(400);
    expect(invalid.body.error).toMatchObject({ code: 'validation_error', message: expect.stringMatching(/^Invalid name/) });
    expect((await post('{not json')).body.error.code).toBe('invalid_json');
    expect((await post('name=x', 'application/x-www-form-urlencoded')).status).toBe(415);

    const conflictRoute = withApi(async () => {
      throw new ApiError(409, 'conflict', 'Already exists');
    });
    expect((await call(conflictRoute as never)).body).toEqual({ error: { code: 'conflict', message: 'Already exists' } });

    const spy = vi.spyOn(console, 'error').mockImplementation(() => {});
    const broken = withApi(async () => {
      throw new Error('password=hunter2 at /srv/secret/path');
    });
    const res = await call(broken as never);
    expect(res.status).toBe(500);
    expect(res.body).toEqual({ error: { code: 'internal_error', message: 'Internal server error' } });
    spy.mockRestore();
  });

  it('answers 503 with Retry-After when the database is unreachable', async () => {
    const user = await createTestUser('clinician');
    session.user = { id: user.id, email: user.email, name: user.name, role: user.role };
    const down = withApi(async () => {
      throw Object.assign(new Error('Failed query'), { cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) });
    });
    const res = await call(down as never);
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('5');
    expect(res.body.error.code).toBe('database_unavailable');
  });

  it('answers 404 for malformed path parameters, like a missing resource', async () => {
    const user = await createTestUser('clinician');
    session.user = { id: user.id, email: user.email, name: user.name, role: user.role };
    const byId = withApi(async ({ params }) => params, { params: z.object({ id: z.string().uuid() }) });
    expect((await call(byId as never, { params: { id: '../../etc/passwd' } })).status).toBe(404);
    const id = '6f1c1c1e-8a4b-4c59-9d1e-2b9a3f0e7c11';
    expect((await call(byId as never, { params: { id } })).body).toEqual({ id });
  });
});
