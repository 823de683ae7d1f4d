import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { getDb, type Database } from '@/db';
import { isDatabaseUnavailable } from '@/lib/api/errors';
import { reportDatabaseFailure, reportDatabaseSuccess } from '@/db/availability';
import {
  claimNextJob,
  completeJob,
  failJobAttempt,
  reclaimExpiredJobs,
  renewJobLease,
  updateJobProgress,
  type JobFence,
} from '@/db/queries/jobs';
import {
  getJobHandler,
  JobLeaseLostError,
  JobTimeoutError,
  NOTIFY_CHANNEL,
  onJobEnqueued,
  type JobContext,
  type JobRecord,
} from './queue';

export interface WorkerOptions {
  /** Jobs run at once by this worker; default 2 (processing is CPU- and memory-heavy). */
  concurrency?: number;
  /** How often to look for due jobs and lapsed leases; default 1000 ms. */
  pollIntervalMs?: number;
  /** Recorded in `locked_by`; default host:pid:random. Must be unique per running worker. */
  workerId?: string;
  /** Claim only these kinds (dedicated workers); default every kind. */
  kinds?: readonly string[];
  /** How long a running job stays ours without a heartbeat; default 30 000 ms. */
  leaseMs?: number;
  /** Default a third of the lease, so two heartbeats may be missed before the lease lapses. */
  heartbeatMs?: number;
  /** How long `stop()` waits for running jobs; default 15 000 ms. */
  shutdownTimeoutMs?: number;
  /** Retry delay after the first failed attempt, doubling after each; default 10 000 ms. */
  backoffBaseMs?: number;
  /** Retry delay cap; default 10 minutes. */
  backoffMaxMs?: number;
  /** Default: the process database (`getDb()`). */
  db?: Database;
  logger?: Pick<Console, 'warn' | 'error'>;
}

export interface JobWorker {
  readonly workerId: string;
  /**
   * Stops claiming and waits (up to `shutdownTimeoutMs`) for running jobs, aborting none. Jobs
   * still running then are abandoned: heartbeats stop, so another worker takes them over once
   * their lease lapses.
   */
  stop(): Promise<void>;
}

interface Execution {
  done: Promise<void>;
  abandon(): void;
}

type PostgresJsClient = {
  listen(channel: string, onnotify: (payload: string) => void, onlisten?: () => void): Promise<{ unlisten(): Promise<void> }>;
  unsafe: unknown;
};

/** Only postgres-js: PGlite runs in this process, where enqueue wakes workers directly. */
function postgresJsClient(db: Database): PostgresJsClient | undefined {
  const client = (db as unknown as { $client?: Partial<PostgresJsClient> }).$client;
  if (client && typeof client.listen === 'function' && typeof client.unsafe === 'function') return client as PostgresJsClient;
  return undefined;
}

const MAX_ERROR_LENGTH = 4000;

function describeError(error: unknown): string {
  const message = error instanceof Error ? error.message || error.name : String(error);
  return message.length > MAX_ERROR_LENGTH ? `${message.slice(0, MAX_ERROR_LENGTH)}…` : message;
}

function option(name: string, value: number | undefined, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value < min) throw new RangeError(`${name} must be a number ≥ ${min}, got ${value}`);
  return value;
}

export function startWorker(options: WorkerOptions = {}): JobWorker {
  const concurrency = Math.floor(option('concurrency', options.concurrency, 2));
  const pollIntervalMs = option('pollIntervalMs', options.pollIntervalMs, 1000);
  const leaseMs = option('leaseMs', options.leaseMs, 30_000, 100);
  const heartbeatMs = option('heartbeatMs', options.heartbeatMs, Math.floor(leaseMs / 3));
  const shutdownTimeoutMs = option('shutdownTimeoutMs', options.shutdownTimeoutMs, 15_000, 0);
  const backoffBaseMs = option('backoffBaseMs', options.backoffBaseMs, 10_000, 0);
  const backoffMaxMs = option('backoffMaxMs', options.backoffMaxMs, 10 * 60_000, 0);
  const workerId = options.workerId ?? `${os.hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  const logger = options.logger ?? console;
  const kinds = options.kinds ? [...options.kinds] : undefined;
  if (heartbeatMs >= leaseMs) throw new RangeError('heartbeatMs must be shorter than leaseMs');

  const executions = new Set<Execution>();
  let stopping = false;
  let stopped: Promise<void> | undefined;
  let wakePending = false;
  let wakeWaiter: (() => void) | undefined;

  // A wake-up that arrives while the loop is busy is remembered, not lost.
  const wake = () => {
    wakePending = true;
    wakeWaiter?.();
  };
  const unsubscribe = onJobEnqueued(wake);

  const backoff = (attempt: number) => Math.min(backoffMaxMs, backoffBaseMs * 2 ** Math.max(0, attempt - 1));

  function execute(db: Database, job: JobRecord): Execution {
    const fence: JobFence = { id: job.id, workerId, attempt: job.attempts };
    const controller = new AbortController();
    let finished = false;
    let heartbeat: NodeJS.Timeout | undefined;
    let timeout: NodeJS.Timeout | undefined;
    let lastProgress = job.progress;

    const scheduleHeartbeat = () => {
      heartbeat = setTimeout(async () => {
        try {
          if (!(await renewJobLease(db, fence, leaseMs)) && !finished) controller.abort(new JobLeaseLostError(job.id));
        } catch (error) {
          // A missed renewal is survivable; the lease covers two more tries.
          logger.warn(`[jobs] ${job.kind} ${job.id}: lease renewal failed: ${describeError(error)}`);
        }
        if (!finished) scheduleHeartbeat();
      }, heartbeatMs);
    };
    const settle = () => {
      finished = true;
      clearTimeout(heartbeat);
      clearTimeout(timeout);
    };

    const ctx: JobContext = {
      signal: controller.signal,
      async setProgress(pct: number) {
        if (!Number.isFinite(pct)) throw new RangeError(`progress must be a number, got ${pct}`);
        // Lets a handler that ignores the signal but reports progress stop at its next report.
        controller.signal.throwIfAborted();
        const value = Math.min(100, Math.max(0, Math.round(pct)));
        // Handlers report per item; a study of thousands of images must not mean thousands of writes.
        if (value === lastProgress) return;
        lastProgress = value;
        await updateJobProgress(db, fence, value);
      },
    };

    async function run(): Promise<void> {
      const handler = getJobHandler(job.kind);
      if (!handler) {
        settle();
        await failJobAttempt(db, fence, { error: `No handler registered for job kind "${job.kind}"`, retryInMs: null });
        logger.error(`[jobs] ${job.kind} ${job.id}: no handler registered for this kind; failed`);
        return;
      }
      scheduleHeartbeat();
      timeout = setTimeout(() => controller.abort(new JobTimeoutError(job.timeoutSeconds)), Math.min(job.timeoutSeconds * 1000, 2 ** 31 - 1));
      const aborted = new Promise<never>((_, reject) => {
        controller.signal.addEventListener('abort', () => reject(controller.signal.reason), { once: true });
      });
      const running = Promise.resolve().then(() => handler(job, ctx));
      // A handler that ignores its signal keeps running after we give up on it; its outcome is
      // dropped (and can no longer touch the row: the fence no longer matches).
      running.catch(() => {});
      let result: Awaited<typeof running>;
      try {
        result = await Promise.race([running, aborted]);
      } catch (error) {
        settle();
        if (error instanceof JobLeaseLostError) {
          logger.warn(`[jobs] ${job.kind} ${job.id}: ${error.message}; stopped`);
          return;
        }
        const retryInMs = job.attempts < job.maxAttempts ? backoff(job.attempts) : null;
        const message = describeError(error);
        await failJobAttempt(db, fence, { error: message, retryInMs });
        logger.warn(
          `[jobs] ${job.kind} ${job.id}: attempt ${job.attempts}/${job.maxAttempts} failed: ${message}` +
            (retryInMs === null ? '; giving up' : `; retrying in ${retryInMs} ms`),
        );
        return;
      }
      settle();
      try {
        if (!(await completeJob(db, fence, result && typeof result === 'object' ? result : null))) {
          logger.warn(`[jobs] ${job.kind} ${job.id}: finished after it was cancelled or taken over; result dropped`);
        }
      } catch (error) {
        // E.g. a result that is not JSON: the same attempt would fail the same way, so say why.
        await failJobAttempt(db, fence, {
          error: `Could not store the result: ${describeError(error)}`,
          retryInMs: job.attempts < job.maxAttempts ? backoff(job.attempts) : null,
        });
      }
    }

    const execution: Execution = {
      done: run()
        // The database may be unreachable: the lease then lapses and the job is retried.
        .catch((error) => logger.error(`[jobs] ${job.kind} ${job.id}: could not record the outcome`, error))
        .finally(() => {
          settle();
          executions.delete(execution);
          wake();
        }),
      abandon() {
        // Only the heartbeat stops; should the handler still finish, its outcome is recorded if
        // nobody has taken the job over meanwhile.
        settle();
        executions.delete(execution);
      },
    };
    return execution;
  }

  async function loop(): Promise<void> {
    let db: Database | undefined = options.db;
    let outage = false;
    while (!stopping) {
      wakePending = false;
      try {
        db ??= await getDb();
        const reclaimed = await reclaimExpiredJobs(db);
        for (const r of reclaimed) {
          logger.warn(`[jobs] ${r.kind} ${r.id}: its worker stopped responding during attempt ${r.attempts}; ${r.status === 'queued' ? 'queued again' : 'failed'}`);
        }
        while (!stopping && executions.size < concurrency) {
          const job = await claimNextJob(db, { workerId, leaseMs, kinds });
          if (!job) break;
          executions.add(execute(db, job));
        }
        reportDatabaseSuccess();
        if (outage) {
          logger.warn('[jobs] database reachable again; polling resumed');
          outage = false;
        }
      } catch (error) {
        // An outage is expected to end: say so once, keep polling, instead of a stack per second.
        if (isDatabaseUnavailable(error)) {
          reportDatabaseFailure();
          if (!outage) logger.warn(`[jobs] database unavailable, still polling: ${describeError(error).split('\n')[0]}`);
          outage = true;
        } else {
          logger.error('[jobs] polling failed', error);
        }
      }
      if (stopping || wakePending) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, pollIntervalMs);
        wakeWaiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wakeWaiter = undefined;
    }
  }

  const unlisten = (async () => {
    const client = postgresJsClient(options.db ?? (await getDb()));
    if (!client || stopping) return undefined;
    // onlisten also fires after a reconnect, when notifications may have been missed.
    const meta = await client.listen(NOTIFY_CHANNEL, wake, wake);
    return () => meta.unlisten();
  })().catch((error) => {
    logger.warn(`[jobs] LISTEN unavailable, polling only: ${describeError(error)}`);
    return undefined;
  });
  const looping = loop();

  return {
    workerId,
    stop() {
      stopped ??= (async () => {
        stopping = true;
        unsubscribe();
        wake();
        await looping;
        await (await unlisten)?.().catch(() => {});
        const pending = [...executions];
        if (pending.length === 0) return;
        let timer: NodeJS.Timeout | undefined;
        const expired = new Promise<'expired'>((resolve) => (timer = setTimeout(() => resolve('expired'), shutdownTimeoutMs)));
        const outcome = await Promise.race([Promise.all(pending.map((e) => e.done)), expired]);
        clearTimeout(timer);
        if (outcome === 'expired') {
          const left = [...executions];
          for (const e of left) e.abandon();
          if (left.length) logger.warn(`[jobs] worker ${workerId} stopped with ${left.length} job(s) still running; they will be retried once their lease lapses`);
        }
      })();
      return stopped;
    },
  };
}
