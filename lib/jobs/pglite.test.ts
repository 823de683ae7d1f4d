import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase, type DatabaseHandle } from '@/db';
import { enqueueJob, getJob, latestJobStatusByStudy, registerJobHandler } from './index';
import { captureLogger, createStudy, gate, uniqueKind, waitFor, workerPool } from './testing/helpers';

const dir = mkdtempSync(path.join(os.tmpdir(), 'imaging-jobs-pglite-'));
const pool = workerPool();
const handles: DatabaseHandle[] = [];
afterAll(async () => {
  await pool.stopAll();
  for (const handle of handles) await handle.close().catch(() => {});
  rmSync(dir, { recursive: true, force: true });
});

async function open() {
  const handle = await openDatabase({ dataDir: dir });
  handles.push(handle);
  return handle;
}

// PGlite (PostgreSQL in WebAssembly) opens and migrates slowly on a busy machine.
describe('the job queue on embedded PGlite (polling only)', { timeout: 180_000 }, () => {
  it('runs, dedupes, and finishes after a restart the jobs that were running or queued when the server stopped', async () => {
    const kind = uniqueKind('pglite');
    const first = await open();
    expect(first.driver).toBe('pglite');
    const db = first.db;

    // Normal run, with progress visible and the study-list summary.
    const studyId = await createStudy(db);
    const midway = gate();
    registerJobHandler(kind, async (job, ctx) => {
      await ctx.setProgress(50);
      if (job.payload.hold && job.attempts === 1) await midway.opened;
      return { n: job.payload.n, attempt: job.attempts };
    });
    const { logger } = captureLogger();
    const worker = pool.start({ db, kinds: [kind], concurrency: 1, leaseMs: 1000, shutdownTimeoutMs: 0, logger });
    const held = await enqueueJob(kind, { n: 1, hold: true }, { db, studyId, dedupeKey: studyId });
    expect((await enqueueJob(kind, { n: 99 }, { db, dedupeKey: studyId })).id).toBe(held.id);
    const running = await waitFor(async () => {
      const job = await getJob(held.id, db);
      return job?.progress === 50 ? job : undefined;
    }, 'progress 50');
    expect(running.status).toBe('running');
    expect((await latestJobStatusByStudy([studyId], db))[studyId]).toMatchObject({ status: 'running', progress: 50 });

    // The server stops while that job runs and another waits (the only slot is taken).
    const waiting = await enqueueJob(kind, { n: 2 }, { db });
    await worker.stop();
    await first.close();

    const second = await open();
    pool.start({ db: second.db, kinds: [kind], leaseMs: 2000, logger });
    const done = await waitFor(async () => {
      const job = await getJob(held.id, second.db);
      return job?.status === 'succeeded' ? job : undefined;
    }, 'the interrupted job to finish after the restart');
    expect(done).toMatchObject({ attempts: 2, progress: 100, result: { n: 1, attempt: 2 } });
    expect(await waitFor(async () => (await getJob(waiting.id, second.db))?.status === 'succeeded', 'the queued job')).toBe(true);
    expect((await latestJobStatusByStudy([studyId], second.db))[studyId]).toMatchObject({ jobId: held.id, status: 'succeeded' });
    midway.open();
  });
});
