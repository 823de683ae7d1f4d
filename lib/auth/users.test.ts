import { and, eq } from 'drizzle-orm';
import postgres from 'postgres';
import { describe, expect, it } from 'vitest';
import { getDb, openDatabase } from '@/db';
import { countUsers, findUserByEmail, findUserById, insertFirstUser } from '@/db/queries/users';
import { auditLog } from '@/db/schema';
import { ApiError } from '@/lib/api/errors';
import { actorOfUser, createTestUser } from '@/lib/testing/fixtures';
import { verifyPassword } from './password';
import { changeUser, createFirstAdmin, createUser, FirstRunClosed } from './users';

const uniqueEmail = (tag: string) => `${tag}-${Date.now()}-${Math.random().toString(36).slice(2)}@example.test`;

describe('first-run admin', () => {
  it('lets exactly one of many concurrent first-run requests create an account', async () => {
    // A database of its own, so that the race starts from zero users whatever ran before.
    const base = new URL(process.env.DATABASE_URL!);
    const name = `${base.pathname.slice(1)}_race`;
    const admin = postgres({ host: base.hostname, port: Number(base.port), user: base.username, database: 'postgres', max: 1, onnotice: () => {} });
    await admin.unsafe(`create database "${name}"`);
    const url = new URL(base);
    url.pathname = `/${name}`;
    const fresh = await openDatabase({ url: url.toString(), dataDir: '/nonexistent' });
    try {
      const attempts = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          insertFirstUser(fresh.db, { email: uniqueEmail(`race${i}`), name: 'Racer', passwordHash: 'x', role: 'admin' }),
        ),
      );
      expect(attempts.filter(Boolean)).toHaveLength(1);
      expect(await countUsers(fresh.db)).toBe(1);
    } finally {
      await fresh.close();
      await admin.unsafe(`drop database "${name}" with (force)`);
      await admin.end();
    }
  });

  it('refuses once any account exists, and audits the refusal', async () => {
    await createTestUser('viewer');
    const email = uniqueEmail('intruder');
    await expect(createFirstAdmin({ email, name: 'Intruder', password: 'long enough password' }, { clientAddress: '192.0.2.99' })).rejects.toBeInstanceOf(
      FirstRunClosed,
    );
    expect(await findUserByEmail(await getDb(), email)).toBeUndefined();
    const denied = await (await getDb())
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.action, 'user.create_first_admin'), eq(auditLog.outcome, 'denied')));
    expect(denied.length).toBeGreaterThan(0);
  });
});

describe('user administration', () => {
  it('lets an admin create a user with a hashed password', async () => {
    const admin = await createTestUser('admin');
    const email = uniqueEmail('new');
    const created = await createUser({ email, name: 'New Radiologist', password: 'twelve chars!', role: 'radiologist' }, actorOfUser(admin));
    expect(created).not.toHaveProperty('passwordHash');
    const stored = await findUserByEmail(await getDb(), email);
    expect(stored?.role).toBe('radiologist');
    expect(await verifyPassword('twelve chars!', stored!.passwordHash)).toBe(true);
  });

  it('refuses non-admins with 403 and audits the attempt', async () => {
    const clinician = await createTestUser('clinician');
    const email = uniqueEmail('sneaky');
    const error = await createUser({ email, name: 'x', password: 'twelve chars!', role: 'admin' }, actorOfUser(clinician)).catch((e) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).status).toBe(403);
    expect(await findUserByEmail(await getDb(), email)).toBeUndefined();
    const rows = await (await getDb())
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.userId, clinician.id), eq(auditLog.action, 'user.create')));
    expect(rows).toHaveLength(1);
    expect(rows[0]!.outcome).toBe('denied');
  });

  it('validates input and rejects duplicate emails with 409', async () => {
    const admin = await createTestUser('admin');
    await expect(createUser({ email: 'bad', name: '', password: 'short', role: 'viewer' }, actorOfUser(admin))).rejects.toThrow(
      /email|name|characters/i,
    );
    const email = uniqueEmail('dup');
    await createUser({ email, name: 'One', password: 'twelve chars!', role: 'viewer' }, actorOfUser(admin));
    const dup = await createUser({ email: email.toUpperCase(), name: 'Two', password: 'twelve chars!', role: 'viewer' }, actorOfUser(admin)).catch((e) => e);
    expect((dup as ApiError).status).toBe(409);
  });

  it('changes roles and disables users, ending their sessions', async () => {
    const admin = await createTestUser('admin');
    const target = await createTestUser('viewer');
    await changeUser(target.id, { role: 'radiologist' }, actorOfUser(admin));
    let stored = await findUserById(await getDb(), target.id);
    expect(stored?.role).toBe('radiologist');
    expect(stored?.sessionVersion).toBe(target.sessionVersion + 1);
    await changeUser(target.id, { disabled: true }, actorOfUser(admin));
    stored = await findUserById(await getDb(), target.id);
    expect(stored?.disabled).toBe(true);
    expect(stored?.sessionVersion).toBe(target.sessionVersion + 2);
  });

  it('stops an admin from locking themselves out and answers 404 for unknown users', async () => {
    const admin = await createTestUser('admin');
    expect(((await changeUser(admin.id, { role: 'viewer' }, actorOfUser(admin)).catch((e) => e)) as ApiError).status).toBe(409);
    expect(((await changeUser(admin.id, { disabled: true }, actorOfUser(admin)).catch((e) => e)) as ApiError).status).toBe(409);
    expect(((await changeUser('00000000-0000-4000-8000-000000000000', { role: 'viewer' }, actorOfUser(admin)).catch((e) => e)) as ApiError).status).toBe(404);
    expect(((await changeUser('../etc/passwd', { role: 'viewer' }, actorOfUser(admin)).catch((e) => e)) as ApiError).status).toBe(404);
  });
});
