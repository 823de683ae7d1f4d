import { getDb, type Executor } from '@/db';
import { findSessionWithUser, insertSession, revokeSession, touchSession } from '@/db/queries/sessions';
import type { User, UserSession } from '@/db/schema';
import type { RequestMeta } from '@/lib/api/request-meta';
import { getEnv } from '@/lib/env';

/** Activity is written at most this often; the idle limit is therefore exact to within a minute. */
const TOUCH_GRANULARITY_MS = 60_000;

export type SessionRejection = 'unknown' | 'revoked' | 'idle' | 'expired' | 'disabled' | 'stale';

/** Opens the server-side record of a sign-in; its id goes into the session cookie. */
export async function openSession(user: Pick<User, 'id'>, meta: RequestMeta, now = new Date(), db?: Executor): Promise<UserSession> {
  const env = getEnv();
  return insertSession(db ?? (await getDb()), {
    userId: user.id,
    createdAt: now,
    lastSeenAt: now,
    expiresAt: new Date(now.getTime() + env.sessionMaxAgeSeconds * 1000),
    clientAddress: meta.clientAddress ?? null,
    userAgent: meta.userAgent?.slice(0, 512) ?? null,
  });
}

/**
 * Whether a session cookie's claims still stand: its row exists, is not revoked, is within the
 * idle and absolute limits, and its user is enabled with the same session version (a role change
 * or disabling bumps it). A live session has its activity recorded.
 */
export async function checkSession(
  claims: { sid?: string; id?: string; sv?: number },
  now = new Date(),
  db?: Executor,
): Promise<{ ok: true; user: User; session: UserSession } | { ok: false; reason: SessionRejection }> {
  if (!claims.sid || !claims.id || !/^[0-9a-f-]{36}$/i.test(claims.sid)) return { ok: false, reason: 'unknown' };
  const executor = db ?? (await getDb());
  const found = await findSessionWithUser(executor, claims.sid);
  if (!found || found.user.id !== claims.id) return { ok: false, reason: 'unknown' };
  const { session, user } = found;
  if (session.revokedAt) return { ok: false, reason: 'revoked' };
  if (session.expiresAt <= now) return { ok: false, reason: 'expired' };
  if (now.getTime() - session.lastSeenAt.getTime() > getEnv().sessionIdleSeconds * 1000) return { ok: false, reason: 'idle' };
  if (user.disabled) return { ok: false, reason: 'disabled' };
  if (user.sessionVersion !== claims.sv) return { ok: false, reason: 'stale' };
  await touchSession(executor, session.id, now, TOUCH_GRANULARITY_MS);
  return { ok: true, user, session };
}

/** Sign-out: the cookie may linger in a browser or a copy, but it names a revoked row. */
export async function endSession(sessionId: string | undefined, reason = 'sign_out'): Promise<void> {
  if (!sessionId || !/^[0-9a-f-]{36}$/i.test(sessionId)) return;
  await revokeSession(await getDb(), sessionId, reason);
}
