import { headers } from 'next/headers';
import { redirect } from 'next/navigation';
import { getDb } from '@/db';
import { findUserById } from '@/db/queries/users';
import type { User } from '@/db/schema';
import { requestMeta } from '@/lib/api/request-meta';
import type { Actor } from '@/lib/audit';
import { auth } from './index';
import type { UserRole } from './roles';

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
  const session = await auth();
  const claims = session?.user as { id?: string; sv?: number } | undefined;
  if (!claims?.id) return null;
  const user: User | undefined = await findUserById(await getDb(), claims.id);
  if (!user || user.disabled || user.sessionVersion !== claims.sv) return null;
  return { id: user.id, email: user.email, name: user.name, role: user.role };
}

/** For pages: the user, or a redirect to sign-in that comes back here afterwards. */
export async function requireUser(returnTo?: string): Promise<CurrentUser> {
  const user = await getCurrentUser();
  if (!user) redirect(returnTo ? `/sign-in?callbackUrl=${encodeURIComponent(returnTo)}` : '/sign-in');
  return user;
}

export async function actorFor(user: Pick<CurrentUser, 'id' | 'email' | 'role'> | null): Promise<Actor> {
  return { ...requestMeta(await headers()), userId: user?.id, email: user?.email, role: user?.role };
}
