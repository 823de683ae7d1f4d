import { z } from 'zod';
import { getDb } from '@/db';
import { findUserByEmail, touchLastSignIn } from '@/db/queries/users';
import type { User } from '@/db/schema';
import type { RequestMeta } from '@/lib/api/request-meta';
import { recordAudit } from '@/lib/audit';
import { burnPasswordCheck, verifyPassword } from './password';
import { recordSignInFailure, recordSignInSuccess, throttleDelay } from './throttle';

export const signInSchema = z.object({
  email: z.string().trim().toLowerCase().email().max(254),
  password: z.string().min(1).max(1024),
});

export type SignInFailure = 'invalid' | 'throttled';

export class SignInRejected extends Error {
  constructor(
    readonly reason: SignInFailure,
    readonly retryAfterSeconds = 0,
  ) {
    super(reason === 'throttled' ? 'Too many failed sign-in attempts' : 'Invalid email or password');
    this.name = 'SignInRejected';
  }
}

/**
 * Checks credentials, applying throttling per account and per address, and audits the attempt.
 * Unknown accounts, disabled accounts and wrong passwords fail identically and take the same time.
 */
export async function authenticate(input: unknown, meta: RequestMeta): Promise<User> {
  const db = await getDb();
  const parsed = signInSchema.safeParse(input);
  if (!parsed.success) {
    await recordAudit(meta, { action: 'auth.sign_in', outcome: 'failure', details: { reason: 'malformed' } }, db);
    throw new SignInRejected('invalid');
  }
  const { email, password } = parsed.data;
  const subject = { email, clientAddress: meta.clientAddress };
  const actor = { ...meta, email };

  const wait = await throttleDelay(db, subject);
  if (wait > 0) {
    await recordAudit(actor, { action: 'auth.sign_in', outcome: 'denied', details: { reason: 'throttled' } }, db);
    throw new SignInRejected('throttled', wait);
  }

  const user = await findUserByEmail(db, email);
  let reason: string | null = null;
  if (!user) {
    await burnPasswordCheck(password);
    reason = 'unknown_account';
  } else if (!(await verifyPassword(password, user.passwordHash))) {
    reason = 'wrong_password';
  } else if (user.disabled) {
    reason = 'disabled';
  }

  if (reason || !user) {
    await recordSignInFailure(db, subject);
    await recordAudit(
      { ...actor, userId: user?.id, role: user?.role },
      { action: 'auth.sign_in', outcome: 'failure', details: { reason } },
      db,
    );
    throw new SignInRejected('invalid');
  }

  await recordSignInSuccess(db, subject);
  await touchLastSignIn(db, user.id);
  await recordAudit({ ...actor, userId: user.id, role: user.role }, { action: 'auth.sign_in', outcome: 'success' }, db);
  return user;
}
