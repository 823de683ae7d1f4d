import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeDb } from '@/db';
import { toErrorResponse } from '@/lib/api/errors';
import { checkHealth } from '@/lib/api/health';
import { resetEnvForTests } from '@/lib/env';
import { createPrivatePostgres, privatePostgresAvailable, type PrivatePostgres } from '@/lib/testing/private-postgres';
import { waitForDatabase } from './startup';

/**
 * The database going away and coming back, on a private cluster (port 5447) this test starts and
 * stops; the shared PostgreSQL is never touched. The soak (`npm run soak`) does the same to the
 * production server under load.
 */
const unavailable = privatePostgresAvailable();
if (unavailable) console.warn(`[startup.test] skipped: ${unavailable}`);

async function healthStatus(): Promise<{ status: number; retryAfter: string | null }> {
  try {
    await checkHealth();
    return { status: 200, retryAfter: null };
  } catch (error) {
    const res = toErrorResponse(error);
    return { status: res.status, retryAfter: res.headers.get('retry-after') };
  }
}

(unavailable ? describe.skip : describe)('the database down at boot and during operation', () => {
  let pg: PrivatePostgres;
  const sharedUrl = process.env.DATABASE_URL;

  beforeAll(async () => {
    pg = createPrivatePostgres(5447);
    await closeDb();
    process.env.DATABASE_URL = pg.url('postgres');
    resetEnvForTests();
  }, 60_000);

  afterAll(async () => {
    await closeDb();
    pg?.destroy();
    process.env.DATABASE_URL = sharedUrl;
    resetEnvForTests();
  });

  it('waits for a database that is not there yet (503 with Retry-After meanwhile), then serves, and rides out an outage without a restart', async () => {
    const logs: string[] = [];
    const waiting = waitForDatabase({ initialDelayMs: 100, maxDelayMs: 400, log: (m) => logs.push(m) });
    await new Promise((r) => setTimeout(r, 1500));
    expect(await healthStatus()).toEqual({ status: 503, retryAfter: '5' });
    pg.start();
    expect(await waiting).toBe('postgres');
    expect(logs.length).toBeGreaterThan(0);
    expect(logs[0]).toMatch(/\[db\] unavailable .*retrying/);
    expect((await healthStatus()).status).toBe(200);

    pg.stop('immediate');
    expect(await healthStatus()).toEqual({ status: 503, retryAfter: '5' });
    pg.start();
    // Same pool, same process: the next requests reconnect.
    let status = 0;
    for (let i = 0; i < 40 && status !== 200; i++) {
      status = (await healthStatus()).status;
      if (status !== 200) await new Promise((r) => setTimeout(r, 250));
    }
    expect(status).toBe(200);
  }, 90_000);
});
