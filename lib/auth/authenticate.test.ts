import { and, eq } from 'drizzle-orm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { getDb } from '@/db';
import { auditLog } from '@/db/schema';
import { resetEnvForTests } from '@/lib/env';
import { createTestUser, TEST_PASSWORD, uniqueAddress } from '@/lib/testing/fixtures';
import { authenticate, SignInRejected } from './authenticate';

async function signInAuditRows(email: string) {
  const db = await getDb();
  return db
    .select()
    .from(auditLog)
    .where(and(eq(auditLog.action, 'auth.sign_in'), eq(auditLog.userEmail, email)))
    .orderBy(auditLog.id);
}

async function rejection(promise: Promise<unknown>): Promise<SignInRejected> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(SignInRejected);
  return error as SignInRejected;
}

describe('authenticate', () => {
  beforeEach(() => {
    process.env.LOGIN_MAX_FAILURES_PER_ACCOUNT = '3';
    process.env.LOGIN_MAX_FAILURES_PER_ADDRESS = '5';
    process.env.LOGIN_LOCKOUT_SECONDS = '600';
    resetEnvForTests();
  });
  afterEach(() => {
    delete process.env.LOGIN_MAX_FAILURES_PER_ACCOUNT;
    delete process.env.LOGIN_MAX_FAILURES_PER_ADDRESS;
    delete process.env.LOGIN_LOCKOUT_SECONDS;
    resetEnvForTests();
  });

  it('signs in with the right password (email case-insensitive) and audits it with the address', async () => {
    const user = await createTestUser('radiologist');
    const address = uniqueAddress();
    const result = await authenticate(
      { email: user.email.toUpperCase(), password: TEST_PASSWORD },
      { clientAddress: address, userAgent: 'vitest' },
    );
    expect(result.id).toBe(user.id);
    const rows = await signInAuditRows(user.email);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ outcome: 'success', userId: user.id, role: 'radiologist', clientAddress: address });
  });

  it('rejects a wrong password, an unknown account and a disabled account the same way, and audits each', async () => {
    const user = await createTestUser('clinician');
    const disabled = await createTestUser('clinician', { disabled: true });
    const meta = { clientAddress: uniqueAddress(), userAgent: 'vitest' };
    const unknownEmail = `nobody-${Date.now()}@example.test`;

    const reasons = [
      await rejection(authenticate({ email: user.email, password: 'wrong password!' }, meta)),
      await rejection(authenticate({ email: unknownEmail, password: 'wrong password!' }, meta)),
      await rejection(authenticate({ email: disabled.email, password: TEST_PASSWORD }, meta)),
    ];
    expect(reasons.map((r) => [r.reason, r.message])).toEqual([
      ['invalid', 'Invalid email or password'],
      ['invalid', 'Invalid email or password'],
      ['invalid', 'Invalid email or password'],
    ]);
    expect((await signInAuditRows(user.email))[0]).toMatchObject({ outcome: 'failure', details: { reason: 'wrong_password' } });
    expect((await signInAuditRows(unknownEmail))[0]).toMatchObject({ outcome: 'failure', userId: null, details: { reason: 'unknown_account' } });
    expect((await signInAuditRows(disabled.email))[0]).toMatchObject({ outcome: 'failure', details: { reason: 'disabled' } });
  });

  it('audits malformed input without crashing', async () => {
    const before = await (await getDb()).$count(auditLog);
    await rejection(authenticate({ email: 'not-an-email', password: '' }, { clientAddress: null, userAgent: null }));
    await rejection(authenticate(undefined, { clientAddress: null, userAgent: null }));
    expect(await (await getDb()).$count(auditLog)).toBe(before + 2);
  });

  it('locks an account after repeated failures, even against the right password, from any address', async () => {
    const user = await createTestUser('viewer');
    for (let i = 0; i < 3; i++) {
      const r = await rejection(authenticate({ email: user.email, password: 'nope nope nope' }, { clientAddress: uniqueAddress(), userAgent: null }));
      expect(r.reason).toBe('invalid');
    }
    const locked = await rejection(authenticate({ email: user.email, password: TEST_PASSWORD }, { clientAddress: uniqueAddress(), userAgent: null }));
    expect(locked.reason).toBe('throttled');
    expect(locked.retryAfterSeconds).toBeGreaterThan(500);
    const rows = await signInAuditRows(user.email);
    expect(rows.at(-1)).toMatchObject({ outcome: 'denied', details: { reason: 'throttled' } });
  });

  it('locks an address that tries many accounts, without locking those accounts elsewhere', async () => {
    const address = uniqueAddress();
    const victim = await createTestUser('viewer');
    for (let i = 0; i < 5; i++) {
      await rejection(authenticate({ email: `spray-${i}-${Date.now()}@example.test`, password: 'guess guess' }, { clientAddress: address, userAgent: null }));
    }
    const blocked = await rejection(authenticate({ email: victim.email, password: TEST_PASSWORD }, { clientAddress: address, userAgent: null }));
    expect(blocked.reason).toBe('throttled');
    const ok = await authenticate({ email: victim.email, password: TEST_PASSWORD }, { clientAddress: uniqueAddress(), userAgent: null });
    expect(ok.id).toBe(victim.id);
  });

  it('forgives earlier failures on a successful sign-in', async () => {
    const user = await createTestUser('viewer');
    for (let round = 0; round < 3; round++) {
      // A fresh address per round: the address counter is deliberately not forgiven.
      const meta = { clientAddress: uniqueAddress(), userAgent: null };
      await rejection(authenticate({ email: user.email, password: 'wrong wrong' }, meta));
      await rejection(authenticate({ email: user.email, password: 'wrong wrong' }, meta));
      expect((await authenticate({ email: user.email, password: TEST_PASSWORD }, meta)).id).toBe(user.id);
    }
  });

  it('locks an unknown account exactly like a real one, so a lock does not reveal that an account exists', async () => {
    const unknown = `ghost-${Date.now()}@example.test`;
    const real = await createTestUser('viewer');
    const outcomes = async (email: string) => {
      const seen: string[] = [];
      for (let i = 0; i < 4; i++) seen.push((await rejection(authenticate({ email, password: 'guess guess' }, { clientAddress: uniqueAddress(), userAgent: null }))).message);
      return seen;
    };
    const forUnknown = await outcomes(unknown);
    expect(forUnknown).toEqual(await outcomes(real.email));
    expect(forUnknown).toEqual(['Invalid email or password', 'Invalid email or password', 'Invalid email or password', 'Too many failed sign-in attempts']);
  });

  it('takes about as long for an unknown account as for a wrong password (measured, loosely bounded)', async () => {
    const user = await createTestUser('clinician');
    const timed = async (email: string) => {
      const start = performance.now();
      await rejection(authenticate({ email, password: 'not the password' }, { clientAddress: uniqueAddress(), userAgent: null }));
      return performance.now() - start;
    };
    const unknown: number[] = [];
    const wrong: number[] = [];
    // Alternating, and never more than the account limit per account: load on the machine hits both alike.
    for (let i = 0; i < 6; i++) {
      unknown.push(await timed(`nobody-${i}-${Date.now()}@example.test`));
      if (i % 2 === 0) wrong.push(await timed((await createTestUser('clinician')).email));
      else wrong.push(await timed(user.email));
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const ratio = median(unknown) / median(wrong);
    console.log(`[sign-in timing] median unknown account ${median(unknown).toFixed(1)} ms, wrong password ${median(wrong).toFixed(1)} ms, ratio ${ratio.toFixed(2)}`);
    // Both run one scrypt; without it the unknown account would answer in well under a tenth of the time.
    expect(ratio).toBeGreaterThan(0.4);
    expect(ratio).toBeLessThan(2.5);
  });
});
