'use server';

import { signOut } from '@/lib/auth';
import { actorFor, getCurrentUser, sessionClaims } from '@/lib/auth/session';
import { endSession } from '@/lib/auth/sessions';
import { recordAudit } from '@/lib/audit';

export async function signOutAction(): Promise<void> {
  const user = await getCurrentUser();
  if (user) await recordAudit(await actorFor(user), { action: 'auth.sign_out', outcome: 'success' });
  await endSession((await sessionClaims())?.sid);
  await signOut({ redirectTo: '/sign-in' });
}
