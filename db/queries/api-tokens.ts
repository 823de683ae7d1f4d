import { eq } from 'drizzle-orm';
import type { Executor } from '../index';
import { apiTokens, type ApiToken } from '../schema';

export async function findApiTokenByHash(db: Executor, tokenHash: string): Promise<ApiToken | undefined> {
  const [row] = await db.select().from(apiTokens).where(eq(apiTokens.tokenHash, tokenHash)).limit(1);
  return row;
}

export async function insertApiToken(db: Executor, token: typeof apiTokens.$inferInsert): Promise<ApiToken> {
  const [row] = await db.insert(apiTokens).values(token).returning();
  if (!row) throw new Error('token insert returned no row');
  return row;
}

export async function touchApiToken(db: Executor, id: string): Promise<void> {
  await db.update(apiTokens).set({ lastUsedAt: new Date() }).where(eq(apiTokens.id, id));
}
