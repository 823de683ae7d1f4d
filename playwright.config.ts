import { defineConfig } from '@playwright/test';

const PORT = Number(process.env.E2E_PORT ?? 3100);
const baseURL = `http://127.0.0.1:${PORT}`;
const adminUrl = process.env.TEST_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const e2eDatabaseUrl = (() => {
  const url = new URL(adminUrl);
  // One database per port, so two suites on one machine never reset each other's data.
  url.pathname = `/imaging_e2e_${PORT}`;
  return url.toString();
})();

// A stand-in for Gemini (lib/ai/testing/fake-gemini.ts), started by the global setup; the server
// under test sends its AI requests there, never to Google.
const FAKE_GEMINI_PORT = Number(process.env.E2E_FAKE_GEMINI_PORT ?? PORT + 1000);
process.env.E2E_FAKE_GEMINI_URL = `http://127.0.0.1:${FAKE_GEMINI_PORT}`;

/** The environment of the server under test (e2e/gemini.spec.ts starts a second one without AI from it). */
export const E2E_SERVER_ENV = {
  NODE_ENV: 'production',
  DATABASE_URL: e2eDatabaseUrl,
  TEST_DATABASE_ADMIN_URL: adminUrl,
  AUTH_SECRET: 'e2e-only-secret-0123456789abcdefghijklmnopqrstuvwxyz',
  DATA_DIR: 'e2e/.tmp/data',
  LOGIN_MAX_FAILURES_PER_ACCOUNT: '4',
  LOGIN_MAX_FAILURES_PER_ADDRESS: '50',
  GOOGLE_API_KEY: 'e2e-fake-gemini-key',
  GEMINI_BASE_URL: process.env.E2E_FAKE_GEMINI_URL,
  GEMINI_MODEL: 'gemini-e2e-fake',
  GEMINI_TIMEOUT_SECONDS: '10',
};

export default defineConfig({
  testDir: './e2e',
  // The suite walks one installation from first run onwards, so specs run in order.
  fullyParallel: false,
  workers: 1,
  forbidOnly: !!process.env.CI,
  retries: 0,
  timeout: 60_000,
  expect: { timeout: 10_000 },
  outputDir: 'test-results',
  globalSetup: './e2e/support/fake-gemini-setup.ts',
  reporter: [['list'], ['html', { open: 'never', outputFolder: 'playwright-report' }]],
  use: {
    baseURL,
    screenshot: 'on',
    trace: 'retain-on-failure',
    launchOptions: {
      // Debian's Chromium: Playwright's own browser download is not available on these machines.
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    },
  },
  webServer: {
    // A production server (built by `npm run test:e2e`) on a freshly created database.
    command: `node e2e/support/reset-database.mjs && npx next start -H 127.0.0.1 -p ${PORT}`,
    url: `${baseURL}/api/health`,
    reuseExistingServer: false,
    timeout: 120_000,
    stdout: 'pipe',
    stderr: 'pipe',
    env: E2E_SERVER_ENV,
  },
});
