import { eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { getDb } from '@/db';
import { apiTokens } from '@/db/schema';
import { createTestToken } from '@/lib/testing/fixtures';
import { revokeApiToken } from './token-admin';
import { findActiveApiToken, VERIFIED_TTL_MS } from './tokens';

async function lastUsed(id: string) {
  const [row] = await (await getDb()).select().from(apiTokens).where(eq(apiTokens.id, id));
  return row!.lastUsedAt;
}

describe('findActiveApiToken', () => {
  it('finds a token by its secret and refuses unknown ones', async () => {
    const token = await createTestToken('clinician', ['studies:read']);
    expect(await findActiveApiToken(token.secret)).toMatchObject({ id: token.id, role: 'clinician', scopes: ['studies:read'] });
    expect(await findActiveApiToken(`${token.secret}x`)).toBeNull();
    expect(await findActiveApiToken('not-a-token')).toBeNull();
  });

  it('records last use at most once a minute per token', async () => {
    const token = await createTestToken();
    expect(await lastUsed(token.id)).toBeNull();
    const t0 = new Date('2031-01-01T10:00:00Z');
    await findActiveApiToken(token.secret, t0);
    const first = await lastUsed(token.id);
    expect(first!.getTime()).toBe(t0.getTime());
    // Within the minute: no UPDATE, the recorded time stays.
    await findActiveApiToken(token.secret, new Date(t0.getTime() + 59_000));
    expect((await lastUsed(token.id))!.getTime()).toBe(first!.getTime());
    // A minute later it is written again.
    await findActiveApiToken(token.secret, new Date(t0.getTime() + 61_000));
    expect((await lastUsed(token.id))!.getTime()).toBe(t0.getTime() + 61_000);
  });

  it('believes an active token for a few seconds, but a revocation here ends it at once', async () => {
    const db = await getDb();
    const kept = await createTestToken('clinician', ['studies:read']);
    const t0 = new Date('2032-01-01T10:00:00Z');
    expect(await findActiveApiToken(kept.secret, t0)).not.toBeNull();
    // Revoked behind this process's back (another instance of the app): seen once the TTL is over.
    await db.update(apiTokens).set({ revokedAt: t0 }).where(eq(apiTokens.id, kept.id));
    expect(await findActiveApiToken(kept.secret, new Date(t0.getTime() + VERIFIED_TTL_MS - 1))).not.toBeNull();
    expect(await findActiveApiToken(kept.secret, new Date(t0.getTime() + VERIFIED_TTL_MS))).toBeNull();

    const revoked = await createTestToken('clinician', ['studies:read']);
    expect(await findActiveApiToken(revoked.secret, t0)).not.toBeNull();
    await revokeApiToken(revoked.id, { role: 'admin', userAgent: 'tokens.test' });
    expect(await findActiveApiToken(revoked.secret, new Date(t0.getTime() + 1))).toBeNull();
  });
});
