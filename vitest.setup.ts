import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, inject } from 'vitest';

process.env.DATABASE_URL = inject('databaseUrl');
process.env.AUTH_SECRET ??= 'test-secret-that-is-long-enough-for-production-use';
process.env.DATA_DIR = mkdtempSync(path.join(os.tmpdir(), 'imaging-test-'));

afterAll(async () => {
  const { closeDb } = await import('@/db');
  await closeDb();
});
