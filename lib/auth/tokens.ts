import { createHash, randomBytes } from 'node:crypto';
import { getDb } from '@/db';
import { findApiTokenByHash, touchApiToken } from '@/db/queries/api-tokens';
import type { ApiToken } from '@/db/schema';

const TOKEN_PREFIX = 'imp_';

export function hashApiToken(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** A new bearer secret; only its hash is stored, so it can be shown exactly once. */
export function generateApiTokenSecret(): { secret: string; hash: string; prefix: string } {
  const secret = TOKEN_PREFIX + randomBytes(32).toString('base64url');
  return { secret, hash: hashApiToken(secret), prefix: secret.slice(0, TOKEN_PREFIX.length + 6) };
}

/** The token a bearer secret names, if it exists, is not revoked and has not expired. */
export async function findActiveApiToken(secret: string, now = new Date()): Promise<ApiToken | null> {
  if (!secret.startsWith(TOKEN_PREFIX) || secret.length > 200) return null;
  const db = await getDb();
  const token = await findApiTokenByHash(db, hashApiToken(secret));
  if (!token || token.revokedAt || (token.expiresAt && token.expiresAt <= now)) return null;
  if (shouldTouch(token.id, now)) await touchApiToken(db, token.id, now);
  return token;
}

// last_used_at says when a token was last in use, to the minute: writing it on every request
// would add an UPDATE to every image an external system fetches.
const TOUCH_INTERVAL_MS = 60_000;
const globalForTokens = globalThis as typeof globalThis & { __apiTokenTouched?: Map<string, number> };

function shouldTouch(tokenId: string, now: Date): boolean {
  const touched = (globalForTokens.__apiTokenTouched ??= new Map());
  const last = touched.get(tokenId);
  if (last !== undefined && now.getTime() - last < TOUCH_INTERVAL_MS) return false;
  if (touched.size > 10_000) touched.clear();
  touched.set(tokenId, now.getTime());
  return true;
}
