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
});
