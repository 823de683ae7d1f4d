import { getDatabase } from '@/db';
import { readAuditPrivileges } from '@/db/queries/audit';
import { EnvError, getEnv } from '@/lib/env';

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
  const { driver, db } = await getDatabase();
  console.log(`[db] ${driver} ready, migrations applied`);
  if (driver === 'postgres') {
    const { describeAuditProtection } = await import('@/lib/audit/protection');
    const warning = describeAuditProtection(await readAuditPrivileges(db));
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
  const worker = startWorker();
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      void worker.stop().finally(() => process.exit(0));
    });
  }
}
