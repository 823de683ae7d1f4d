/**
 * A worker process for the restart test (restart.test.ts): it claims jobs of one kind, reports
 * progress, prints `claimed <id>` and then hangs until the test kills it with SIGKILL, like a
 * server that is killed mid-job. Run with tsx: doomed-worker.ts <kind> <leaseMs>.
 */
import os from 'node:os';
import { openDatabase } from '@/db';
import { registerJobHandler, startWorker } from '@/lib/jobs';

const [kind, leaseMs] = process.argv.slice(2);
if (!kind || !leaseMs || !process.env.DATABASE_URL) {
  console.error('usage: DATABASE_URL=… tsx doomed-worker.ts <kind> <leaseMs>');
  process.exit(2);
}

const { db } = await openDatabase({ url: process.env.DATABASE_URL, dataDir: os.tmpdir() });
registerJobHandler(kind, async (job, ctx) => {
  await ctx.setProgress(10);
  process.stdout.write(`claimed ${job.id}\n`);
  await new Promise(() => {});
});
startWorker({ db, kinds: [kind], concurrency: 1, pollIntervalMs: 50, leaseMs: Number(leaseMs), workerId: `doomed:${process.pid}` });
