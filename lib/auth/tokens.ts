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

/**
 * The token a bearer secret names, if it exists, is not revoked and has not expired.
 *
 * A token found active is believed for a few seconds without asking the database again: an
 * external system fetching a series sends hundreds of requests a second, and the lookup was a
 * database round trip on each. Revoking through this server forgets it at once (forgetApiToken);
 * another instance of the app sees a revocation within VERIFIED_TTL_MS.
 */
export async function findActiveApiToken(secret: string, now = new Date()): Promise<ApiToken | null> {
  if (!secret.startsWith(TOKEN_PREFIX) || secret.length > 200) return null;
  const hash = hashApiToken(secret);
  const verified = (globalForTokens.__apiTokensVerified ??= new Map());
  const remembered = verified.get(hash);
  let token: ApiToken | undefined;
  if (remembered && now.getTime() - remembered.at < VERIFIED_TTL_MS && now.getTime() >= remembered.at) {
    token = remembered.token;
  } else {
    const db = await getDb();
    token = await findApiTokenByHash(db, hash);
    if (token && !token.revokedAt) {
      if (verified.size > 10_000) verified.clear();
      verified.set(hash, { token, at: now.getTime() });
    } else {
      verified.delete(hash);
    }
  }
  if (!token || token.revokedAt || (token.expiresAt && token.expiresAt <= now)) return null;
  if (shouldTouch(token.id, now)) await touchApiToken(await getDb(), token.id, now);
  return token;
}

/** After a revocation: the next request presenting the token is checked against the database. */
export function forgetApiToken(tokenId: string): void {
  const verified = globalForTokens.__apiTokensVerified;
  if (!verified) return;
  for (const [hash, entry] of verified) if (entry.token.id === tokenId) verified.delete(hash);
}

// last_used_at says when a token was last in use, to the minute: writing it on every request
// would add an UPDATE to every image an external system fetches.
const TOUCH_INTERVAL_MS = 60_000;
export const VERIFIED_TTL_MS = 5_000;
const globalForTokens = globalThis as typeof globalThis & {
  __apiTokenTouched?: Map<string, number>;
  __apiTokensVerified?: Map<string, { token: ApiToken; at: number }>;
};

function shouldTouch(tokenId: string, now: Date): boolean {
  const touched = (globalForTokens.__apiTokenTouched ??= new Map());
  const last = touched.get(tokenId);
  if (last !== undefined && now.getTime() - last < TOUCH_INTERVAL_MS) return false;
  if (touched.size > 10_000) touched.clear();
  touched.set(tokenId, now.getTime());
  return true;
}
