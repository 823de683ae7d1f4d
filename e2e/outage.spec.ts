import { spawn, type ChildProcess } from 'node:child_process';
import { expect, test } from '@playwright/test';
import { createPrivatePostgres, privatePostgresAvailable, type PrivatePostgres } from '@/lib/testing/private-postgres';

/**
 * The database going away under a running production server, on a private PostgreSQL cluster
 * (port 5448) this test stops and starts; the suite's own database is never touched. The soak
 * (`npm run soak`, scenario B) does the same under load for 30 s.
 */
const PORT = Number(process.env.E2E_PORT ?? 3100) + 95;
const base = `http://127.0.0.1:${PORT}`;
const unavailable = privatePostgresAvailable();

test.describe('database outage', () => {
  test.skip(!!unavailable, unavailable ?? '');
  let pg: PrivatePostgres;
  let server: ChildProcess;

  test.beforeAll(async ({ request }) => {
    test.setTimeout(120_000);
    pg = createPrivatePostgres(5448);
    pg.start();
    server = spawn('npx', ['next', 'start', '-H', '127.0.0.1', '-p', String(PORT)], {
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        NODE_ENV: 'production',
        AUTH_SECRET: 'outage-e2e-secret-0123456789abcdefghijklmnop',
        DATABASE_URL: pg.url('postgres'),
        DATA_DIR: `e2e/.tmp/outage-${Date.now()}`,
      },
      stdio: 'ignore',
      detached: true,
    });
    await expect.poll(async () => (await request.get(`${base}/api/health`).catch(() => null))?.status(), { timeout: 60_000 }).toBe(200);
  });

  test.afterAll(() => {
    if (server?.pid) process.kill(-server.pid, 'SIGTERM');
    pg?.destroy();
  });

  test('pages answer 503 with Retry-After and a page that reloads itself until PostgreSQL is back', async ({ page, request }) => {
    test.setTimeout(90_000);
    const before = await page.goto(`${base}/sign-in`);
    expect(before?.status()).toBe(200);
    await expect(page.getByRole('heading', { name: 'Create the administrator account' })).toBeVisible();

    pg.stop('immediate');
    // The very first requests of the outage too: the proxy checks before anything renders.
    for (const path of ['/setup', '/sign-in', '/', '/studies/00000000-0000-4000-8000-000000000000']) {
      const res = await request.get(`${base}${path}`, { maxRedirects: 0 });
      expect(res.status(), path).toBe(503);
      expect(res.headers()['retry-after'], path).toBe('5');
      expect(res.headers()['cache-control'], path).toBe('no-store');
      expect(res.headers()['x-content-type-options'], path).toBe('nosniff');
      expect(await res.text(), path).toContain('The database cannot be reached right now. Nothing you saved is lost');
    }
    const api = await request.get(`${base}/api/health`);
    expect(api.status()).toBe(503);
    expect(api.headers()['retry-after']).toBe('5');
    expect((await api.json()).error.code).toBe('database_unavailable');

    const during = await page.goto(`${base}/setup`);
    expect(during?.status()).toBe(503);
    await expect(page.getByRole('heading', { name: 'Service temporarily unavailable' })).toBeVisible();
    await page.screenshot({ path: test.info().outputPath('outage.png') });

    pg.start();
    // No click: the page reloads itself every 5 s and finds the real page again.
    await expect(page.getByRole('heading', { name: 'Create the administrator account' })).toBeVisible({ timeout: 20_000 });
    const after = await request.get(`${base}/setup`, { maxRedirects: 0 });
    expect(after.status()).toBe(200);
  });
});
