import { and, desc, eq, isNull, sql } from 'drizzle-orm';
import type { Database, Executor } from '../index';
import { apiTokens, users, type ApiToken } from '../schema';

function prepareByHash(db: Database) {
  return db.select().from(apiTokens).where(eq(apiTokens.tokenHash, sql.placeholder('tokenHash'))).limit(1).prepare('api_token_by_hash');
}

// Every API request looks its token up: a prepared statement skips building the SQL each time.
const byHash = new WeakMap<Database, ReturnType<typeof prepareByHash>>();

export async function findApiTokenByHash(db: Database, tokenHash: string): Promise<ApiToken | undefined> {
  let statement = byHash.get(db);
  if (!statement) byHash.set(db, (statement = prepareByHash(db)));
  const [row] = await statement.execute({ tokenHash });
  return row;
}

export async function findApiTokenById(db: Executor, id: string): Promise<ApiToken | undefined> {
  const [row] = await db.select().from(apiTokens).where(eq(apiTokens.id, id)).limit(1);
  return row;
}

export async function insertApiToken(db: Executor, token: typeof apiTokens.$inferInsert): Promise<ApiToken> {
  const [row] = await db.insert(apiTokens).values(token).returning();
  if (!row) throw new Error('token insert returned no row');
  return row;
}

export async function touchApiToken(db: Executor, id: string, at = new Date()): Promise<void> {
  await db.update(apiTokens).set({ lastUsedAt: at }).where(eq(apiTokens.id, id));
}

/** Every token (revoked ones too, for the record), newest first, with its creator's email. */
export async function listApiTokens(db: Executor) {
  return db
    .select({ token: apiTokens, creatorEmail: users.email })
    .from(apiTokens)
    .leftJoin(users, eq(users.id, apiTokens.createdBy))
    .orderBy(desc(apiTokens.createdAt), desc(apiTokens.id));
}

/** Revokes a token that is not revoked yet; undefined when there is no such active token. */
export async function revokeApiTokenRow(db: Executor, id: string, at = new Date()): Promise<ApiToken | undefined> {
  const [row] = await db
    .update(apiTokens)
    .set({ revokedAt: at })
    .where(and(eq(apiTokens.id, id), isNull(apiTokens.revokedAt)))
    .returning();
  return row;
}
