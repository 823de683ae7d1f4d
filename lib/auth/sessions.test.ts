import { describe, expect, it } from 'vitest';
import { getDb } from '@/db';
import { updateUser } from '@/db/queries/users';
import { createTestUser } from '@/lib/testing/fixtures';
import { checkSession, endSession, openSession } from './sessions';

const meta = { clientAddress: '192.0.2.44', userAgent: 'vitest' };
const minutes = (n: number) => n * 60_000;

async function signedIn(at = new Date()) {
  const user = await createTestUser('radiologist');
  const session = await openSession(user, meta, at);
  return { user, session, claims: { id: user.id, sv: user.sessionVersion, sid: session.id } };
}

describe('server-side sessions', () => {
  it('accepts a fresh session and records where it came from', async () => {
    const { user, session, claims } = await signedIn();
    const checked = await checkSession(claims);
    expect(checked.ok && checked.user.id).toBe(user.id);
    expect(session.clientAddress).toBe('192.0.2.44');
    expect(session.expiresAt.getTime() - session.createdAt.getTime()).toBe(8 * 60 * 60 * 1000);
  });

  it('refuses a signed-out session even though the cookie is still valid', async () => {
    const { claims } = await signedIn();
    await endSession(claims.sid);
    expect(await checkSession(claims)).toEqual({ ok: false, reason: 'revoked' });
  });

  it('ends after 30 idle minutes, but activity keeps it alive', async () => {
    const t0 = new Date('2026-12-01T08:00:00Z');
    const { claims } = await signedIn(t0);
    // Active every 20 minutes for two hours: never idle for 30.
    for (let t = 20; t <= 120; t += 20) expect((await checkSession(claims, new Date(t0.getTime() + minutes(t)))).ok, `at ${t} min`).toBe(true);
    expect(await checkSession(claims, new Date(t0.getTime() + minutes(120 + 31)))).toEqual({ ok: false, reason: 'idle' });
  });

  it('ends at the absolute limit however active it is', async () => {
    const t0 = new Date('2026-12-01T08:00:00Z');
    const { claims } = await signedIn(t0);
    for (let t = 25; t < 8 * 60; t += 25) await checkSession(claims, new Date(t0.getTime() + minutes(t)));
    expect(await checkSession(claims, new Date(t0.getTime() + minutes(8 * 60 + 1)))).toEqual({ ok: false, reason: 'expired' });
  });

  it('refuses sessions of disabled users, after a role change, and unknown or forged ids', async () => {
    const db = await getDb();
    const a = await signedIn();
    await updateUser(db, a.user.id, { role: 'viewer' });
    expect(await checkSession(a.claims)).toEqual({ ok: false, reason: 'stale' });
    const b = await signedIn();
    await updateUser(db, b.user.id, { disabled: true });
    expect((await checkSession(b.claims)).ok).toBe(false);
    const c = await signedIn();
    expect(await checkSession({ ...c.claims, sid: undefined })).toEqual({ ok: false, reason: 'unknown' });
    expect(await checkSession({ ...c.claims, sid: "x' or 1=1 --" })).toEqual({ ok: false, reason: 'unknown' });
    // Another user's session id does not sign you in as yourself.
    expect(await checkSession({ ...c.claims, sid: a.session.id })).toEqual({ ok: false, reason: 'unknown' });
  });
});
