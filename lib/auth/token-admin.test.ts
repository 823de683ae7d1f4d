import { and, eq } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { GET as me } from '@/app/api/me/route';
import { GET as listStudies } from '@/app/api/studies/route';
import { DELETE as revokeRoute } from '@/app/api/tokens/[id]/route';
import { GET as listRoute, POST as createRoute } from '@/app/api/tokens/route';
import { getDb } from '@/db';
import { auditLog } from '@/db/schema';
import { createTestToken } from '@/lib/testing/fixtures';

type Handler = (req: Request, ctx: { params: Promise<Record<string, string>> }) => Promise<Response>;

async function call(handler: Handler, secret: string, init: { method?: string; body?: unknown; params?: Record<string, string>; path?: string } = {}) {
  const res = await handler(
    new Request(`http://app.test${init.path ?? '/api/tokens'}`, {
      method: init.method ?? 'GET',
      headers: { authorization: `Bearer ${secret}`, ...(init.body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
    }),
    { params: Promise.resolve(init.params ?? {}) },
  );
  return { status: res.status, body: await res.json() };
}

let admin: { secret: string; id: string };

beforeAll(async () => {
  admin = await createTestToken('admin', ['admin']);
});

async function auditRows(action: string, resourceId: string) {
  return (await getDb()).select().from(auditLog).where(and(eq(auditLog.action, action), eq(auditLog.resourceId, resourceId)));
}

describe('API tokens', () => {
  it('creates a token whose secret is shown once, works with its scopes, and stops at once when revoked', async () => {
    const created = await call(createRoute, admin.secret, { method: 'POST', body: { name: 'PACS bridge', role: 'viewer', scopes: ['studies:read', 'studies:read'] } });
    expect(created.status).toBe(201);
    const { token, secret } = created.body;
    expect(secret).toMatch(/^imp_[A-Za-z0-9_-]{40,}$/);
    expect(token).toMatchObject({ name: 'PACS bridge', role: 'viewer', scopes: ['studies:read'], status: 'active', prefix: secret.slice(0, 10), revokedAt: null });

    // Listed without the secret; created by the admin token (no user).
    const listed = await call(listRoute, admin.secret);
    const row = listed.body.tokens.find((t: { id: string }) => t.id === token.id);
    expect(row).toMatchObject({ name: 'PACS bridge', lastUsedAt: null });
    expect(JSON.stringify(listed.body)).not.toContain(secret);

    expect((await call(listStudies, secret, { path: '/api/studies' })).status).toBe(200);
    // Neither the viewer role nor the studies:read scope allows token administration.
    expect((await call(listRoute, secret)).status).toBe(403);
    const after = (await call(listRoute, admin.secret)).body.tokens.find((t: { id: string }) => t.id === token.id);
    expect(after.lastUsedAt).not.toBeNull();

    const revoked = await call(revokeRoute, admin.secret, { method: 'DELETE', params: { id: token.id }, path: `/api/tokens/${token.id}` });
    expect(revoked.status).toBe(200);
    expect(revoked.body.token).toMatchObject({ id: token.id, status: 'revoked', revokedAt: expect.any(String) });
    const refused = await call(listStudies, secret, { path: '/api/studies' });
    expect(refused).toMatchObject({ status: 401, body: { error: { code: 'unauthorized' } } });
    expect((await call(me, secret, { path: '/api/me' })).status).toBe(401);

    // Revoking twice is a conflict; unknown ids are 404.
    expect((await call(revokeRoute, admin.secret, { method: 'DELETE', params: { id: token.id } })).status).toBe(409);
    expect((await call(revokeRoute, admin.secret, { method: 'DELETE', params: { id: '00000000-0000-4000-8000-000000000000' } })).status).toBe(404);

    expect(await auditRows('api_token.create', token.id)).toEqual([expect.objectContaining({ outcome: 'success', tokenId: admin.id })]);
    const revokes = await auditRows('api_token.revoke', token.id);
    expect(revokes.map((r) => r.outcome).sort()).toEqual(['failure', 'success']);
  });

  it('a scope alone is not enough: the role must allow it too', async () => {
    const viewerWithAdminScope = await createTestToken('viewer', ['admin']);
    const res = await call(listRoute, viewerWithAdminScope.secret);
    expect(res).toMatchObject({ status: 403, body: { error: { code: 'forbidden' } } });
  });

  it('expired tokens are refused', async () => {
    const soon = new Date(Date.now() + 1500).toISOString();
    const created = await call(createRoute, admin.secret, { method: 'POST', body: { name: 'short-lived', role: 'viewer', scopes: ['studies:read'], expiresAt: soon } });
    expect(created.status).toBe(201);
    expect(created.body.token.expiresAt).toBe(soon);
    expect((await call(me, created.body.secret, { path: '/api/me' })).status).toBe(200);
    // Let it expire (a token found active a moment ago is still refused once its time is up).
    await new Promise((r) => setTimeout(r, Date.parse(soon) - Date.now() + 50));
    expect((await call(me, created.body.secret, { path: '/api/me' })).status).toBe(401);
    const listed = (await call(listRoute, admin.secret)).body.tokens.find((t: { id: string }) => t.id === created.body.token.id);
    expect(listed.status).toBe('expired');
  });

  it('refuses bad input with 400 and audits it', async () => {
    for (const body of [
      { name: '', role: 'viewer', scopes: ['studies:read'] },
      { name: 'x', role: 'superuser', scopes: ['studies:read'] },
      { name: 'x', role: 'viewer', scopes: [] },
      { name: 'x', role: 'viewer', scopes: ['everything'] },
      { name: 'x', role: 'viewer', scopes: ['admin'], expiresAt: '2001-01-01T00:00:00Z' },
      { name: 'x', role: 'viewer', scopes: ['admin'], expiresAt: 'tomorrow' },
    ]) {
      const res = await call(createRoute, admin.secret, { method: 'POST', body });
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error.code).toBe('validation_error');
    }
    const failures = await (await getDb()).select().from(auditLog).where(and(eq(auditLog.action, 'api_token.create'), eq(auditLog.outcome, 'failure'), eq(auditLog.tokenId, admin.id)));
    expect(failures.length).toBeGreaterThanOrEqual(6);
  });

  it('non-admin roles are refused with 403 and audited', async () => {
    const clinician = await createTestToken('clinician');
    const res = await call(createRoute, clinician.secret, { method: 'POST', body: { name: 'x', role: 'admin', scopes: ['admin'] } });
    expect(res.status).toBe(403);
    const denied = await (await getDb()).select().from(auditLog).where(and(eq(auditLog.tokenId, clinician.id), eq(auditLog.outcome, 'denied')));
    expect(denied).toEqual([expect.objectContaining({ action: 'api_token.create' })]);
  });
});
