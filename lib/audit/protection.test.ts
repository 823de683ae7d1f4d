import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Database, type DatabaseHandle } from '@/db';
import { insertAuditEntry, readAuditPrivileges } from '@/db/queries/audit';
import { describeAuditProtection } from './protection';

const adminUrl = process.env.TEST_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const suffix = randomUUID().replace(/-/g, '').slice(0, 12);
// Roles are cluster-wide: unique names, dropped at the end.
const ownerRole = `imaging_owner_${suffix}`;
const appRole = `imaging_app_${suffix}`;
const dbName = `imaging_audit_roles_${suffix}`;

function urlAs(role: string): string {
  const url = new URL(adminUrl);
  url.username = role;
  url.password = '';
  url.pathname = `/${dbName}`;
  return url.toString();
}

/** The PostgreSQL error code (SQLSTATE) and message behind a rejected statement. */
async function rejection(promise: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await promise;
  } catch (error) {
    for (let e: unknown = error; e; e = (e as { cause?: unknown }).cause) {
      const code = (e as { code?: unknown }).code;
      if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return { code, message: String((e as Error).message) };
    }
    throw error;
  }
  throw new Error('expected the statement to be rejected');
}

const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
let asApp: DatabaseHandle;
let asOwner: DatabaseHandle;
let entryId: number;

beforeAll(async () => {
  await admin.unsafe(`create role "${ownerRole}" login`);
  await admin.unsafe(`create role "${appRole}" login`);
  await admin.unsafe(`create database "${dbName}" owner "${ownerRole}"`);
  // The usual production set-up, made before the tables exist: everything the owner creates is
  // readable and writable by the app role. The migrations must take UPDATE/DELETE back on audit_log.
  const owner = postgres(urlAs(ownerRole), { max: 1, onnotice: () => {} });
  await owner.unsafe(`grant usage on schema public to "${appRole}"`);
  await owner.unsafe(`alter default privileges in schema public grant select, insert, update, delete, truncate on tables to "${appRole}"`);
  await owner.unsafe(`alter default privileges in schema public grant usage, select on sequences to "${appRole}"`);
  await owner.end();
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'audit-roles-'));
  asApp = await openDatabase({ url: urlAs(appRole), migrationUrl: urlAs(ownerRole), dataDir });
  asOwner = await openDatabase({ url: urlAs(ownerRole), dataDir });
  rmSync(dataDir, { recursive: true, force: true });
  entryId = (await insertAuditEntry(asApp.db, { action: 'test.privileges', outcome: 'success' })).id;
});

afterAll(async () => {
  await asApp?.close();
  await asOwner?.close();
  await admin.unsafe(`drop database if exists "${dbName}" with (force)`);
  await admin.unsafe(`drop role if exists "${appRole}"`);
  await admin.unsafe(`drop role if exists "${ownerRole}"`);
  await admin.end();
});

async function stillThere(db: Database) {
  const result = await db.execute(sql`select action from audit_log where id = ${entryId}`);
  const rows = (Array.isArray(result) ? result : (result as unknown as { rows: unknown[] }).rows) as { action: string }[];
  expect(rows).toEqual([{ action: 'test.privileges' }]);
}

describe('the app role (DATABASE_URL) apart from the owner (DATABASE_MIGRATION_URL)', () => {
  it('appends and reads audit rows and works the other tables', async () => {
    const db = asApp.db;
    await expect(db.execute(sql`select count(*) from audit_log`)).resolves.toBeDefined();
    await expect(db.execute(sql`update login_throttle set failures = 0 where key = 'none'`)).resolves.toBeDefined();
    expect(await readAuditPrivileges(db)).toMatchObject({ role: appRole, superuser: false, owner: false, update: false, delete: false, truncate: false });
    expect(describeAuditProtection(await readAuditPrivileges(db))).toBeNull();
  });

  it('is refused UPDATE, DELETE and TRUNCATE by PostgreSQL privileges, before the trigger', async () => {
    const db = asApp.db;
    for (const statement of [
      sql`update audit_log set action = 'forged' where id = ${entryId}`,
      sql`delete from audit_log where id = ${entryId}`,
      sql`truncate audit_log`,
    ]) {
      const { code, message } = await rejection(db.execute(statement));
      expect(code).toBe('42501');
      expect(message).toMatch(/permission denied for table audit_log/);
    }
    await stillThere(db);
  });

  it('cannot disable the trigger, grant itself privileges back, drop or alter the table', async () => {
    const db = asApp.db;
    for (const statement of [
      sql`alter table audit_log disable trigger audit_log_no_update`,
      sql`alter table audit_log disable trigger all`,
      sql`drop table audit_log`,
      sql`alter table audit_log rename to audit_log_old`,
      sql`drop trigger audit_log_no_update on audit_log`,
    ]) {
      const { code, message } = await rejection(db.execute(statement));
      expect(code).toBe('42501');
      expect(message).toMatch(/must be owner/);
    }
    // A GRANT by a role without the grant option grants nothing (PostgreSQL only warns).
    await db.execute(sql.raw(`grant update, delete, truncate on audit_log to "${appRole}"`));
    expect(await readAuditPrivileges(db)).toMatchObject({ update: false, delete: false, truncate: false });
    await stillThere(db);
  });
});

describe('the owner as app role (a single-role deployment)', () => {
  it('has no UPDATE, DELETE or TRUNCATE privilege after the migrations, and the trigger as well', async () => {
    const db = asOwner.db;
    expect(await readAuditPrivileges(db)).toMatchObject({ owner: true, superuser: false, update: false, delete: false, truncate: false });
    for (const statement of [sql`update audit_log set action = 'forged' where id = ${entryId}`, sql`delete from audit_log where id = ${entryId}`, sql`truncate audit_log`]) {
      expect((await rejection(db.execute(statement))).code).toBe('42501');
    }
    await stillThere(db);
  });

  it('is NOT protected against itself: it can re-grant and disable the trigger, and start-up says so', async () => {
    const db = asOwner.db;
    expect(describeAuditProtection(await readAuditPrivileges(db))).toMatch(/owner of audit_log/);
    // Shown, then rolled back: this is exactly what the separate app role exists to prevent.
    const rolledBack = new Error('rollback');
    await expect(
      db.transaction(async (tx) => {
        await tx.execute(sql.raw(`grant update on audit_log to "${ownerRole}"`));
        await tx.execute(sql`alter table audit_log disable trigger audit_log_no_update`);
        await tx.execute(sql`update audit_log set action = 'forged' where id = ${entryId}`);
        throw rolledBack;
      }),
    ).rejects.toBe(rolledBack);
    await stillThere(db);
  });
});
