import { getDatabase } from '@/db';
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
  const { driver } = await getDatabase();
  console.log(`[db] ${driver} ready, migrations applied`);
  const { startUploadMaintenance } = await import('@/lib/ingest/recovery');
  startUploadMaintenance();
}
