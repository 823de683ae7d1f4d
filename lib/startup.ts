import { getDatabase, getDb } from '@/db';
import { isDatabaseUnavailable } from '@/lib/api/errors';
import { readAuditPrivileges } from '@/db/queries/audit';
import { EnvError, getEnv } from '@/lib/env';
import type { JobWorker } from '@/lib/jobs';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The driver's own words (e.g. ECONNREFUSED), not drizzle's wrapper quoting the whole query. */
function rootCause(error: unknown): string {
  let current = error as { cause?: unknown; code?: unknown; message?: unknown } | undefined;
  while (current?.cause) current = current.cause as typeof current;
  const code = typeof current?.code === 'string' ? current.code : null;
  const message = typeof current?.message === 'string' ? current.message.split('\n')[0] : String(current);
  return code && !message?.includes(code) ? `${code}: ${message}` : (message ?? 'unknown error');
}

/**
 * Opens (and migrates) the database, retrying while it cannot be reached: a server started
 * before PostgreSQL, or during an outage, waits for it instead of exiting. Meanwhile every
 * request that needs the database (and /api/health) answers 503 with Retry-After.
 */
export async function waitForDatabase(options: { initialDelayMs?: number; maxDelayMs?: number; log?: (message: string) => void } = {}): Promise<'postgres' | 'pglite'> {
  const maxDelay = options.maxDelayMs ?? 10_000;
  const log = options.log ?? ((message: string) => console.warn(message));
  let delay = options.initialDelayMs ?? 500;
  for (let attempt = 1; ; attempt++) {
    try {
      return (await getDatabase()).driver;
    } catch (error) {
      if (!isDatabaseUnavailable(error)) throw error;
      log(`[db] unavailable (attempt ${attempt}: ${rootCause(error)}); retrying in ${(delay / 1000).toFixed(1)} s`);
      await sleep(delay);
      delay = Math.min(maxDelay, delay * 2);
    }
  }
}

/** Background work that needs the database: started once it is there. */
async function startBackgroundWork(): Promise<JobWorker> {
  const driver = await waitForDatabase();
  console.log(`[db] ${driver} ready, migrations applied`);
  if (driver === 'postgres') {
    const { describeAuditProtection } = await import('@/lib/audit/protection');
    const warning = describeAuditProtection(await readAuditPrivileges(await getDb()));
    if (warning) console.warn(`[audit] ${warning}`);
  }
  const { startUploadMaintenance } = await import('@/lib/ingest/recovery');
  startUploadMaintenance();
  // Handlers first: a job claimed before its handler exists would fail as an unknown kind.
  const { registerProcessingJobs } = await import('@/lib/imaging/processing');
  registerProcessingJobs();
  const { registerSegmentationJobs } = await import('@/lib/segmentation/jobs');
  registerSegmentationJobs();
  const { startWorker } = await import('@/lib/jobs');
  return startWorker();
}

/** Refuses to start on bad configuration, with a message that says what to fix. */
export async function startServer(): Promise<void> {
  try {
    getEnv();
  } catch (error) {
    if (error instanceof EnvError) {
      console.error(`\n${error.message}\n\nThe server will not start until the configuration is fixed (see README, Configuration).\n`);
      process.exit(1);
    }
    throw error;
  }
  // Not awaited: the server answers (503 while the database is away) instead of waiting for it.
  let worker: JobWorker | undefined;
  startBackgroundWork().then((started) => (worker = started)).catch((error) => {
    // Not an outage (those are retried): a broken migration or the like. Say so and stop.
    console.error('[startup] failed', error);
    process.exit(1);
  });
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      void (worker?.stop() ?? Promise.resolve()).finally(() => process.exit(0));
    });
  }
}
