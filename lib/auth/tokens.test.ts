import { eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { getDb } from '@/db';
import { apiTokens } from '@/db/schema';
import { createTestToken } from '@/lib/testing/fixtures';
import { findActiveApiToken } from './tokens';

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
});
