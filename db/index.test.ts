import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, describe, expect, it } from 'vitest';
import { getDatabase, openDatabase, type Database } from './index';
import { insertAuditEntry } from './queries/audit';
import { countUsers, findUserByEmail, insertUser } from './queries/users';
import { auditLog } from './schema';

const EXPECTED_TABLES = [
  'analysis_results',
  'api_tokens',
  'audit_log',
  'instances',
  'login_throttle',
  'patients',
  'processing_jobs',
  'series',
  'studies',
  'uploads',
  'users',
];

async function tableNames(db: Database): Promise<string[]> {
  const result = await db.execute(
    sql`select table_name from information_schema.tables where table_schema = 'public' order by table_name`,
  );
  const rows = (Array.isArray(result) ? result : (result as { rows: unknown[] }).rows) as { table_name: string }[];
  return rows.map((r) => r.table_name);
}

/** Drizzle wraps driver errors; the server's own message is in the cause chain. */
async function rejectionMessages(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    const parts: string[] = [];
    for (let e: unknown = error; e; e = (e as { cause?: unknown }).cause) parts.push(String((e as Error).message));
    return parts.join(' <- ');
  }
  throw new Error('expected the statement to be rejected');
}

async function expectAppendOnly(db: Database) {
  const entry = await insertAuditEntry(db, { action: 'test.append_only', outcome: 'success' });
  expect(await rejectionMessages(db.execute(sql`update audit_log set action = 'x' where id = ${entry.id}`))).toMatch(
    /append-only \(UPDATE rejected\)/,
  );
  expect(await rejectionMessages(db.execute(sql`delete from audit_log where id = ${entry.id}`))).toMatch(
    /append-only \(DELETE rejected\)/,
  );
  expect(await rejectionMessages(db.execute(sql`truncate audit_log`))).toMatch(/append-only \(TRUNCATE rejected\)/);
  const [still] = await db.select().from(auditLog).where(sql`${auditLog.id} = ${entry.id}`);
  expect(still?.action).toBe('test.append_only');
}

describe('PostgreSQL (DATABASE_URL set)', () => {
  it('uses postgres-js and applies every migration at start-up', async () => {
    const { db, driver } = await getDatabase();
    expect(driver).toBe('postgres');
    expect(await tableNames(db)).toEqual(expect.arrayContaining(EXPECTED_TABLES));
    expect(await tableNames(db)).toContain('users');
  });

  it('re-applying migrations is a no-op', async () => {
    const again = await openDatabase({ url: process.env.DATABASE_URL, dataDir: '/nonexistent' });
    try {
      expect(await tableNames(again.db)).toEqual(expect.arrayContaining(EXPECTED_TABLES));
    } finally {
      await again.close();
    }
  });

  it('keeps the audit log append-only', async () => {
    await expectAppendOnly((await getDatabase()).db);
  });

  it('stores emails lower-cased and unique', async () => {
    const { db } = await getDatabase();
    const email = `Mixed.Case-${Date.now()}@Example.TEST`;
    await insertUser(db, { email, name: 'x', passwordHash: 'x', role: 'viewer' });
    expect((await findUserByEmail(db, email.toUpperCase()))?.email).toBe(email.toLowerCase());
    await expect(insertUser(db, { email: email.toLowerCase(), name: 'y', passwordHash: 'y' })).rejects.toThrow();
  });
});

// PGlite runs PostgreSQL in WebAssembly: opening it and applying every migration takes tens of
// seconds on a busy 2-core machine, so these tests get more time than the default.
describe('embedded PGlite (DATABASE_URL unset)', { timeout: 180_000 }, () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'imaging-pglite-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('creates the database under the data directory with the same migrations, and keeps data across restarts', async () => {
    const first = await openDatabase({ dataDir: dir });
    expect(first.driver).toBe('pglite');
    expect(await tableNames(first.db)).toEqual(expect.arrayContaining(EXPECTED_TABLES));
    await insertUser(first.db, { email: 'persist@example.test', name: 'Persist', passwordHash: 'x', role: 'admin' });
    await expectAppendOnly(first.db);
    await first.close();

    const second = await openDatabase({ dataDir: dir });
    try {
      expect(await countUsers(second.db)).toBe(1);
      expect((await findUserByEmail(second.db, 'persist@example.test'))?.role).toBe('admin');
    } finally {
      await second.close();
    }
  });
});
