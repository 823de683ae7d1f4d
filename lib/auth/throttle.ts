import type { Executor } from '@/db';
import { clearThrottle, findThrottleRows, recordThrottleFailure } from '@/db/queries/login-throttle';
import { getEnv } from '@/lib/env';

export interface ThrottleSubject {
  email: string;
  clientAddress: string | null;
}

function keysFor(subject: ThrottleSubject): { account: string; address: string | null } {
  return {
    account: `account:${subject.email.toLowerCase()}`,
    address: subject.clientAddress ? `address:${subject.clientAddress}` : null,
  };
}

/** Seconds until sign-in may be tried again for this account or address, or 0 when it may now. */
export async function throttleDelay(db: Executor, subject: ThrottleSubject, now = new Date()): Promise<number> {
  const { account, address } = keysFor(subject);
  const rows = await findThrottleRows(db, address ? [account, address] : [account]);
  let until = 0;
  for (const row of rows) {
    if (row.lockedUntil && row.lockedUntil.getTime() > now.getTime()) until = Math.max(until, row.lockedUntil.getTime());
  }
  return until ? Math.ceil((until - now.getTime()) / 1000) : 0;
}

export async function recordSignInFailure(db: Executor, subject: ThrottleSubject, now = new Date()): Promise<void> {
  const { login } = getEnv();
  const { account, address } = keysFor(subject);
  const common = { now, windowSeconds: login.lockoutSeconds, lockSeconds: login.lockoutSeconds };
  await recordThrottleFailure(db, account, { ...common, maxFailures: login.maxFailuresPerAccount });
  if (address) await recordThrottleFailure(db, address, { ...common, maxFailures: login.maxFailuresPerAddress });
}

/** A successful sign-in forgives the account, not the address another attacker may share. */
export async function recordSignInSuccess(db: Executor, subject: ThrottleSubject): Promise<void> {
  await clearThrottle(db, keysFor(subject).account);
}
