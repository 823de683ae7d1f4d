import { headers } from 'next/headers';
import { cache } from 'react';
import { redirect } from 'next/navigation';
import { requestMeta } from '@/lib/api/request-meta';
import { recordAudit, type Actor } from '@/lib/audit';
import { auth } from './index';
import type { UserRole } from './roles';
import { checkSession } from './sessions';

export interface CurrentUser {
  id: string;
  email: string;
  name: string;
  role: UserRole;
}

/**
 * The signed-in user, re-read from the database on every call: a JWT alone would keep a
 * disabled user or an old role working until it expires.
 */
export async function getCurrentUser(): Promise<CurrentUser | null> {
  const claims = await sessionClaims();
  if (!claims?.id) return null;
  const checked = await checkSession(claims);
  if (!checked.ok) return null;
  const { user } = checked;
  return { id: user.id, email: user.email, name: user.name, role: user.role };
}

/** What the session cookie says (unverified against the database: see checkSession). */
export async function sessionClaims(): Promise<{ id?: string; sv?: number; sid?: string } | undefined> {
  const session = await auth();
  return session?.user as { id?: string; sv?: number; sid?: string } | undefined;
}

/**
 * A page request whose session cookie the database refuses (signed out, expired, disabled, role
 * changed): audited once per request, though the layout and the page both ask.
 */
const auditEndedSession = cache(async () => {
  await recordAudit(await actorFor(null), { action: 'page.view', outcome: 'failure', details: { reason: 'session_ended' } });
});

/** For pages: the user, or a redirect to sign-in that comes back here afterwards. */
export async function requireUser(returnTo?: string): Promise<CurrentUser> {
  const user = await getCurrentUser();
  if (!user) {
    // No cookie at all never gets here (proxy.ts redirects): this is a cookie that stopped working.
    if ((await headers()).get('cookie')?.includes('authjs.session-token')) await auditEndedSession();
    redirect(returnTo ? `/sign-in?callbackUrl=${encodeURIComponent(returnTo)}` : '/sign-in');
  }
  return user;
}

export async function actorFor(user: Pick<CurrentUser, 'id' | 'email' | 'role'> | null): Promise<Actor> {
  return { ...requestMeta(await headers()), userId: user?.id, email: user?.email, role: user?.role };
}

/**
 * For server actions: the acting user, or null after auditing the refused call (no session, or a
 * signed-out, expired, disabled or stale one), so a failed access is on the record like an API one.
 */
export async function sessionActor(action: string): Promise<Actor | null> {
  const user = await getCurrentUser();
  if (user) return actorFor(user);
  const cookie = (await headers()).get('cookie') ?? '';
  await recordAudit(await actorFor(null), {
    action,
    outcome: 'failure',
    details: { reason: cookie.includes('authjs.session-token') ? 'session_ended' : 'no_credentials' },
  });
  return null;
}
