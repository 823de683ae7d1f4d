import { spawn } from 'node:child_process';
import { expect, test } from '@playwright/test';

/** Starts the built server with the given environment and collects what it prints until it exits. */
function startServer(env: Record<string, string | undefined>, port: number): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn('npx', ['next', 'start', '-H', '127.0.0.1', '-p', String(port)], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env } as unknown as NodeJS.ProcessEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

test('production start refuses to run without AUTH_SECRET and says what to do', async () => {
  const { code, output } = await startServer({ NODE_ENV: 'production', DATA_DIR: 'e2e/.tmp/refused' }, 3191);
  expect(code).toBe(1);
  expect(output).toContain('AUTH_SECRET (or SESSION_SECRET) is required in production');
  expect(output).toContain('openssl rand -base64 32');
});

test('production start refuses a well-known secret and a malformed DATABASE_URL together', async () => {
  const { code, output } = await startServer(
    { NODE_ENV: 'production', AUTH_SECRET: 'insecure-dev-secret-do-not-use-in-production', DATABASE_URL: 'mysql://db/x' },
    3192,
  );
  expect(code).toBe(1);
  expect(output).toContain('DATABASE_URL: must be a postgres:// or postgresql:// URL');
  expect(output).toContain('AUTH_SECRET: is a well-known default value');
});

test('without DATABASE_URL the app runs on embedded PGlite under the data directory', async ({ request }) => {
  const port = 3193;
  const dataDir = `e2e/.tmp/pglite-${Date.now()}`;
  const child = spawn('npx', ['next', 'start', '-H', '127.0.0.1', '-p', String(port)], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, NODE_ENV: 'production', AUTH_SECRET: 'pglite-e2e-secret-0123456789abcdefghijklmnop', DATA_DIR: dataDir },
    stdio: 'ignore',
    detached: true,
  });
  try {
    let health: { status: string; database: string } | undefined;
    for (let i = 0; i < 60 && !health; i++) {
      const res = await request.get(`http://127.0.0.1:${port}/api/health`).catch(() => null);
      if (res?.ok()) health = await res.json();
      else await new Promise((r) => setTimeout(r, 500));
    }
    expect(health).toEqual({ status: 'ok', database: 'pglite' });
    const setup = await request.get(`http://127.0.0.1:${port}/sign-in`, { maxRedirects: 0 });
    expect(setup.status()).toBe(307);
    expect(setup.headers().location).toMatch(/\/setup$/);
  } finally {
    process.kill(-child.pid!, 'SIGTERM');
  }
});
