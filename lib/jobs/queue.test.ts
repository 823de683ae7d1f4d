import { sql } from 'drizzle-orm';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { getDb, openDatabase } from '@/db';
import { insertJob } from '@/db/queries/jobs';
import {
  cancelJob,
  enqueueJob,
  getJob,
  JobLeaseLostError,
  JobTimeoutError,
  latestJobStatusByStudy,
  listJobsForStudy,
  registerJobHandler,
  type JobRecord,
} from './index';
import { cancelLeftoverTestJobs, captureLogger, createStudy, gate, sleep, uniqueKind, waitFor, workerPool } from './testing/helpers';

const pool = workerPool();
afterEach(() => pool.stopAll());
afterAll(() => cancelLeftoverTestJobs());

const finished = (id: string) =>
  waitFor(async () => {
    const job = await getJob(id);
    return job && ['succeeded', 'failed', 'cancelled'].includes(job.status) ? job : undefined;
  }, `job ${id} to finish`);

describe('enqueue and run', () => {
  it('runs the handler, shows progress while it runs, and stores the result with progress 100', async () => {
    const kind = uniqueKind('run');
    const studyId = await createStudy();
    const halfway = gate();
    const seen: JobRecord[] = [];
    registerJobHandler(kind, async (job, ctx) => {
      seen.push(job);
      await ctx.setProgress(42.4);
      await halfway.opened;
      return { echoed: job.payload.value, attempt: job.attempts };
    });
    const job = await enqueueJob(kind, { value: 7 }, { studyId });
    expect(job).toMatchObject({ kind, status: 'queued', progress: 0, attempts: 0, maxAttempts: 3, timeoutSeconds: 300, studyId });

    const { logger } = captureLogger();
    const worker = pool.start({ kinds: [kind], logger });
    const running = await waitFor(async () => {
      const j = await getJob(job.id);
      return j?.progress === 42 ? j : undefined;
    }, 'progress 42');
    expect(running).toMatchObject({ status: 'running', attempts: 1, lockedBy: worker.workerId });
    expect(running.leaseExpiresAt!.getTime()).toBeGreaterThan(Date.now() - 1000);
    expect((await latestJobStatusByStudy([studyId]))[studyId]).toMatchObject({ jobId: job.id, status: 'running', progress: 42 });

    halfway.open();
    const done = await finished(job.id);
    expect(done).toMatchObject({ status: 'succeeded', progress: 100, result: { echoed: 7, attempt: 1 }, error: null, leaseExpiresAt: null });
    expect(done.finishedAt).toBeInstanceOf(Date);
    expect(seen).toHaveLength(1);
    expect((await listJobsForStudy(studyId)).map((j) => j.id)).toEqual([job.id]);
    expect((await latestJobStatusByStudy([studyId, 'not-a-uuid']))[studyId]).toMatchObject({ status: 'succeeded', progress: 100 });
  });

  it('shows the active job of a study in the study list over a newer finished one', async () => {
    const studyId = await createStudy();
    const other = await createStudy();
    const db = await getDb();
    const active = await enqueueJob(uniqueKind('idle'), {}, { studyId });
    const newer = await insertJob(db, { kind: uniqueKind('done'), studyId, status: 'succeeded', progress: 100 });
    const statuses = await latestJobStatusByStudy([studyId, other]);
    expect(statuses[studyId]).toMatchObject({ jobId: active.id, status: 'queued' });
    expect(statuses[other]).toBeUndefined();
    await cancelJob(active.id);
    expect((await latestJobStatusByStudy([studyId]))[studyId]).toMatchObject({ jobId: newer.id, status: 'succeeded' });
    expect(await listJobsForStudy(studyId)).toHaveLength(2);
  });

  it('validates options and answers undefined for malformed ids', async () => {
    await expect(enqueueJob('', {})).rejects.toThrow(/Invalid job kind/);
    await expect(enqueueJob(uniqueKind('x'), {}, { maxAttempts: 0 })).rejects.toThrow(/maxAttempts/);
    await expect(enqueueJob(uniqueKind('x'), {}, { timeoutSeconds: 1.5 })).rejects.toThrow(/timeoutSeconds/);
    expect(await getJob('nope')).toBeUndefined();
    expect(await getJob('00000000-0000-4000-8000-000000000000')).toBeUndefined();
  });
});

describe('claiming', () => {
  it('runs each job exactly once across several workers with concurrency > 1', async () => {
    const kind = uniqueKind('exclusive');
    const runs = new Map<string, number>();
    let inFlight = 0;
    let maxInFlight = 0;
    registerJobHandler(kind, async (job) => {
      runs.set(job.id, (runs.get(job.id) ?? 0) + 1);
      maxInFlight = Math.max(maxInFlight, ++inFlight);
      await sleep(Math.random() * 15);
      inFlight--;
      return { by: job.lockedBy };
    });
    const jobs = await Promise.all(Array.from({ length: 40 }, (_, i) => enqueueJob(kind, { i })));
    // A second connection pool too, so claims really race across connections.
    const other = await openDatabase({ url: process.env.DATABASE_URL, dataDir: '/nonexistent' });
    try {
      pool.start({ kinds: [kind], concurrency: 4 });
      pool.start({ kinds: [kind], concurrency: 4 });
      pool.start({ kinds: [kind], concurrency: 4, db: other.db });
      await waitFor(async () => (await Promise.all(jobs.map((j) => getJob(j.id)))).every((j) => j?.status === 'succeeded'), 'all jobs');
      await pool.stopAll();
    } finally {
      await other.close();
    }
    expect(runs.size).toBe(40);
    expect([...runs.values()].every((n) => n === 1)).toBe(true);
    expect(maxInFlight).toBeGreaterThan(1);
    const rows = await Promise.all(jobs.map((j) => getJob(j.id)));
    expect(rows.every((j) => j?.attempts === 1)).toBe(true);
  });

  it('wakes an idle worker at once for a job enqueued in this process', async () => {
    const kind = uniqueKind('wake');
    registerJobHandler(kind, async () => ({ ok: true }));
    pool.start({ kinds: [kind], pollIntervalMs: 60_000 });
    await sleep(100);
    const job = await enqueueJob(kind, {});
    const started = Date.now();
    await waitFor(async () => (await getJob(job.id))?.status === 'succeeded', 'woken worker', 3000);
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('wakes an idle worker through LISTEN/NOTIFY for a job enqueued by another process', async () => {
    const kind = uniqueKind('notify');
    registerJobHandler(kind, async () => ({ ok: true }));
    pool.start({ kinds: [kind], pollIntervalMs: 60_000 });
    await sleep(300);
    // Written on another connection without the in-process wake-up, as another server would.
    const other = await openDatabase({ url: process.env.DATABASE_URL, dataDir: '/nonexistent' });
    try {
      const job = await insertJob(other.db, { kind });
      await other.db.execute(sql`select pg_notify('processing_jobs', ${kind})`);
      await waitFor(async () => (await getJob(job.id))?.status === 'succeeded', 'notified worker', 3000);
    } finally {
      await other.close();
    }
  });
});

describe('failures', () => {
  it('retries with exponential backoff, then fails after maxAttempts with the error stored', async () => {
    const kind = uniqueKind('retry');
    const starts: number[] = [];
    registerJobHandler(kind, async (job) => {
      starts.push(Date.now());
      throw new Error(`boom ${job.attempts}`);
    });
    const { logger, lines } = captureLogger();
    pool.start({ kinds: [kind], backoffBaseMs: 200, logger });
    const job = await enqueueJob(kind, {}, { maxAttempts: 3 });

    const between = await waitFor(async () => {
      const j = await getJob(job.id);
      return j?.status === 'queued' && j.attempts === 1 ? j : undefined;
    }, 'first failure');
    expect(between.error).toBe('boom 1');
    expect(between.lockedBy).toBeNull();
    expect(between.runAt.getTime()).toBeGreaterThan(between.createdAt.getTime());

    const done = await finished(job.id);
    expect(done).toMatchObject({ status: 'failed', attempts: 3, error: 'boom 3', result: null });
    expect(starts).toHaveLength(3);
    // 200 ms then 400 ms (a little slack for timer granularity).
    expect(starts[1]! - starts[0]!).toBeGreaterThanOrEqual(190);
    expect(starts[2]! - starts[1]!).toBeGreaterThanOrEqual(390);
    expect(lines.some((l) => l.includes('attempt 3/3 failed: boom 3; giving up'))).toBe(true);
  });

  it('aborts a handler that runs past its timeout, counts the attempt, and fails when attempts run out', async () => {
    const kind = uniqueKind('timeout');
    const reasons: unknown[] = [];
    const stuck = gate();
    registerJobHandler(kind, async (_job, ctx) => {
      ctx.signal.addEventListener('abort', () => reasons.push(ctx.signal.reason));
      await stuck.opened; // ignores the signal on purpose
      return { late: true };
    });
    const { logger } = captureLogger();
    pool.start({ kinds: [kind], logger });
    const started = Date.now();
    const job = await enqueueJob(kind, {}, { timeoutSeconds: 1, maxAttempts: 2 });
    const done = await finished(job.id);
    expect(Date.now() - started).toBeGreaterThanOrEqual(2000);
    expect(done).toMatchObject({ status: 'failed', attempts: 2, error: 'Timed out after 1 s' });
    expect(reasons).toHaveLength(2);
    expect(reasons.every((r) => r instanceof JobTimeoutError)).toBe(true);

    // The abandoned handlers finishing late must not overwrite the recorded failure.
    stuck.open();
    await sleep(100);
    expect(await getJob(job.id)).toMatchObject({ status: 'failed', result: null });
  });

  it('fails jobs of a kind without a handler, clearly and without retrying', async () => {
    const kind = uniqueKind('unknown');
    const { logger, lines } = captureLogger();
    pool.start({ kinds: [kind], logger });
    const job = await enqueueJob(kind, {}, { maxAttempts: 5 });
    expect(await finished(job.id)).toMatchObject({ status: 'failed', attempts: 1, error: `No handler registered for job kind "${kind}"` });
    expect(lines.join('\n')).toMatch(/no handler registered/);
  });

  it('survives handlers that throw synchronously, throw non-errors or return nothing', async () => {
    const kinds = [uniqueKind('sync'), uniqueKind('string'), uniqueKind('void')];
    registerJobHandler(kinds[0]!, () => {
      throw new TypeError('sync failure');
    });
    registerJobHandler(kinds[1]!, async () => {
      throw 'a bare string';
    });
    registerJobHandler(kinds[2]!, async () => {});
    const { logger } = captureLogger();
    pool.start({ kinds, logger });
    const [a, b, c] = await Promise.all(kinds.map((k) => enqueueJob(k, {}, { maxAttempts: 1 })));
    expect(await finished(a!.id)).toMatchObject({ status: 'failed', error: 'sync failure' });
    expect(await finished(b!.id)).toMatchObject({ status: 'failed', error: 'a bare string' });
    expect(await finished(c!.id)).toMatchObject({ status: 'succeeded', result: null, progress: 100 });
  });

  it('rejects an invalid progress value by failing the attempt', async () => {
    const kind = uniqueKind('progress');
    registerJobHandler(kind, async (_job, ctx) => ctx.setProgress(Number.NaN));
    pool.start({ kinds: [kind], logger: captureLogger().logger });
    const job = await enqueueJob(kind, {}, { maxAttempts: 1 });
    expect((await finished(job.id)).error).toMatch(/progress must be a number/);
  });
});

describe('dedupe keys', () => {
  it('returns the active job instead of queueing a duplicate, and allows a new one once it finished', async () => {
    const kind = uniqueKind('dedupe');
    const studyId = await createStudy();
    const first = await enqueueJob(kind, { n: 1 }, { dedupeKey: studyId, studyId });
    const again = await enqueueJob(kind, { n: 2 }, { dedupeKey: studyId, studyId });
    expect(again.id).toBe(first.id);
    expect(again.payload).toEqual({ n: 1 });
    const racing = await Promise.all(Array.from({ length: 8 }, () => enqueueJob(kind, {}, { dedupeKey: studyId })));
    expect(new Set(racing.map((j) => j.id))).toEqual(new Set([first.id]));
    // Another kind with the same key is another job.
    expect((await enqueueJob(uniqueKind('other'), {}, { dedupeKey: studyId })).id).not.toBe(first.id);

    const release = gate();
    registerJobHandler(kind, async () => release.opened);
    pool.start({ kinds: [kind] });
    await waitFor(async () => (await getJob(first.id))?.status === 'running', 'running');
    expect((await enqueueJob(kind, {}, { dedupeKey: studyId })).id).toBe(first.id);
    release.open();
    await finished(first.id);
    const fresh = await enqueueJob(kind, { n: 3 }, { dedupeKey: studyId });
    expect(fresh.id).not.toBe(first.id);
    await finished(fresh.id);
    expect(await listJobsForStudy(studyId)).toHaveLength(1);
  });
});

describe('cancel and stop', () => {
  it('never runs a cancelled queued job, and aborts a running one at its next heartbeat', async () => {
    const kind = uniqueKind('cancel');
    const runs: string[] = [];
    let reason: unknown;
    registerJobHandler(kind, async (job, ctx) => {
      runs.push(job.id);
      await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve));
      reason = ctx.signal.reason;
      return { ignored: true };
    });
    const queued = await enqueueJob(kind, {}, { runAt: new Date(Date.now() + 60_000) });
    expect(await cancelJob(queued.id, { reason: 'not needed' })).toMatchObject({ status: 'cancelled', error: 'not needed' });
    expect(await cancelJob(queued.id)).toBeUndefined();

    const { logger } = captureLogger();
    pool.start({ kinds: [kind], leaseMs: 600, logger });
    const running = await enqueueJob(kind, {});
    await waitFor(async () => (await getJob(running.id))?.status === 'running', 'running');
    await cancelJob(running.id);
    await waitFor(() => reason, 'abort');
    expect(reason).toBeInstanceOf(JobLeaseLostError);
    await sleep(50);
    expect(await getJob(running.id)).toMatchObject({ status: 'cancelled', result: null });
    expect(runs).toEqual([running.id]);
  });

  it('stop() waits for running jobs instead of aborting them', async () => {
    const kind = uniqueKind('stop');
    let aborted = false;
    registerJobHandler(kind, async (_job, ctx) => {
      await sleep(300);
      aborted = ctx.signal.aborted;
      return { finished: true };
    });
    const worker = pool.start({ kinds: [kind] });
    const job = await enqueueJob(kind, {});
    await waitFor(async () => (await getJob(job.id))?.status === 'running', 'running');
    await worker.stop();
    expect(aborted).toBe(false);
    expect(await getJob(job.id)).toMatchObject({ status: 'succeeded', result: { finished: true } });

    // A stopped worker claims nothing more.
    const later = await enqueueJob(kind, {});
    await sleep(150);
    expect((await getJob(later.id))?.status).toBe('queued');
    await cancelJob(later.id);
  });
});
