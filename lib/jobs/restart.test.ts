import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { eq, sql } from 'drizzle-orm';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { getDb } from '@/db';
import { processingJobs } from '@/db/schema';
import { enqueueJob, getJob, registerJobHandler } from './index';
import { cancelLeftoverTestJobs, captureLogger, gate, sleep, uniqueKind, waitFor, workerPool } from './testing/helpers';

const pool = workerPool();
const children: ChildProcess[] = [];
afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
  await pool.stopAll();
});
afterAll(() => cancelLeftoverTestJobs());

const succeeded = (id: string, timeoutMs?: number) =>
  waitFor(async () => {
    const job = await getJob(id);
    return job?.status === 'succeeded' ? job : undefined;
  }, `job ${id} to succeed`, timeoutMs);

/** Pretends a worker claimed the job and died: running, with a lease that already lapsed. */
async function markClaimedByDeadWorker(id: string, attempts: number) {
  await (await getDb())
    .update(processingJobs)
    .set({ status: 'running', attempts, lockedBy: 'dead-worker', lockedAt: sql`now() - interval '1 minute'`, leaseExpiresAt: sql`now() - interval '1 second'` })
    .where(eq(processingJobs.id, id));
}

describe('restart recovery', () => {
  it('processes jobs that were queued while no worker ran once a worker starts', async () => {
    const kind = uniqueKind('pending');
    const jobs = await Promise.all([1, 2, 3].map((n) => enqueueJob(kind, { n })));
    await sleep(100);
    for (const job of jobs) expect((await getJob(job.id))?.status).toBe('queued');

    registerJobHandler(kind, async (job) => ({ n: job.payload.n }));
    pool.start({ kinds: [kind] });
    for (const job of jobs) expect((await succeeded(job.id)).result).toEqual({ n: job.payload.n });
  });

  it('takes back a running job whose worker died once its lease lapsed, and fails it if that was its last attempt', async () => {
    const kind = uniqueKind('orphan');
    registerJobHandler(kind, async (job) => ({ attempt: job.attempts }));
    const orphan = await enqueueJob(kind, {}, { maxAttempts: 3 });
    const exhausted = await enqueueJob(kind, {}, { maxAttempts: 2 });
    await markClaimedByDeadWorker(orphan.id, 1);
    await markClaimedByDeadWorker(exhausted.id, 2);

    const { logger, lines } = captureLogger();
    pool.start({ kinds: [kind], logger });
    expect(await succeeded(orphan.id)).toMatchObject({ attempts: 2, result: { attempt: 2 }, error: null });
    const failed = await waitFor(async () => {
      const job = await getJob(exhausted.id);
      return job?.status === 'failed' ? job : undefined;
    }, 'exhausted job to fail');
    expect(failed.error).toBe('Worker dead-worker stopped responding (lease expired during attempt 2)');
    expect(failed.attempts).toBe(2);
    expect(lines.join('\n')).toMatch(/stopped responding during attempt 1; queued again/);
  });

  it('leaves a running job alone while its lease is being renewed', async () => {
    const kind = uniqueKind('long');
    const release = gate();
    registerJobHandler(kind, async () => {
      await release.opened;
      return { done: true };
    });
    // The lease is a fraction of the run time: only heartbeats keep the job from being taken back.
    pool.start({ kinds: [kind], leaseMs: 600 });
    pool.start({ kinds: [kind], leaseMs: 600 });
    const job = await enqueueJob(kind, {});
    await waitFor(async () => (await getJob(job.id))?.status === 'running', 'running');
    const owner = (await getJob(job.id))?.lockedBy;
    await sleep(1500);
    expect(await getJob(job.id)).toMatchObject({ status: 'running', attempts: 1, lockedBy: owner });
    release.open();
    expect((await succeeded(job.id)).attempts).toBe(1);
  });

  it('finishes a job whose worker stopped heartbeating (abandoned at shutdown) on another worker, dropping the late result', async () => {
    const kind = uniqueKind('abandon');
    const stuck = gate();
    registerJobHandler(kind, async (job) => {
      if (job.attempts === 1) await stuck.opened;
      return { attempt: job.attempts };
    });
    const { logger, lines } = captureLogger();
    const doomed = pool.start({ kinds: [kind], leaseMs: 300, shutdownTimeoutMs: 0, logger });
    const job = await enqueueJob(kind, {});
    await waitFor(async () => (await getJob(job.id))?.status === 'running', 'running');
    await doomed.stop();
    expect(lines.join('\n')).toMatch(/stopped with 1 job\(s\) still running/);

    pool.start({ kinds: [kind], logger });
    expect(await succeeded(job.id)).toMatchObject({ attempts: 2, result: { attempt: 2 } });
    stuck.open();
    await sleep(100);
    expect((await getJob(job.id))?.result).toEqual({ attempt: 2 });
  });

  it('finishes a job after its worker process is killed with SIGKILL mid-run, and runs the ones it left queued', async () => {
    const kind = uniqueKind('killed');
    const leaseMs = 1000;
    const first = await enqueueJob(kind, { n: 1 });
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(import.meta.dirname, 'testing/doomed-worker.ts'), kind, String(leaseMs)], {
      cwd: process.cwd(),
      env: { ...process.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let output = '';
    child.stdout!.on('data', (chunk) => (output += chunk));
    child.stderr!.on('data', (chunk) => (output += chunk));
    await waitFor(() => output.includes(`claimed ${first.id}`), `the child to claim the job (output: ${output})`, 20_000);
    const second = await enqueueJob(kind, { n: 2 }); // the child's only slot is taken

    const claimed = await getJob(first.id);
    expect(claimed).toMatchObject({ status: 'running', attempts: 1, progress: 10, lockedBy: `doomed:${child.pid}` });
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));

    // The server comes back: a new worker with the real handler.
    registerJobHandler(kind, async (job) => ({ n: job.payload.n, attempt: job.attempts }));
    const { logger, lines } = captureLogger();
    pool.start({ kinds: [kind], leaseMs, logger });
    const done = await succeeded(first.id);
    expect(done).toMatchObject({ attempts: 2, result: { n: 1, attempt: 2 }, progress: 100 });
    expect(await succeeded(second.id)).toMatchObject({ attempts: 1, result: { n: 2, attempt: 1 } });
    // Taken back once the dead worker's lease ran out, not before (both are database times).
    expect(done.lockedAt!.getTime()).toBeGreaterThanOrEqual(claimed!.leaseExpiresAt!.getTime());
    expect(lines.join('\n')).toContain(`${first.id}: its worker stopped responding during attempt 1; queued again`);
  });
});
