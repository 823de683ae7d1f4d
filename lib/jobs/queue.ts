/**
 * Durable job queue in PostgreSQL (`processing_jobs`), on postgres-js and embedded PGlite alike.
 *
 * Why a table and not pg-boss: pg-boss needs a real server (it cannot run on the PGlite database
 * the app uses when DATABASE_URL is unset), and our needs are small: a few kinds of long, heavy
 * jobs (decoding, rendering, analysis), tens per study, not thousands per second.
 *
 * Life of a job:
 *   queued ──claim──▶ running ──handler returns──▶ succeeded (result, progress 100)
 *      ▲                 │ handler throws / times out (timeoutSeconds, default 300 = 5 min)
 *      └──backoff────────┤   attempts left → queued again at runAt = now + base·2^(attempt−1)
 *                        │   none left (or no handler for the kind) → failed (error kept)
 *                        └─ cancelJob → cancelled (the handler's signal fires at the next heartbeat)
 *
 * Claiming is one statement, `UPDATE … WHERE id = (SELECT id … FOR UPDATE SKIP LOCKED LIMIT 1)
 * RETURNING *` (db/queries/jobs.ts): any number of workers, in one process or many, never run a
 * job twice at the same time. The claim counts the attempt, so a job that crashes its worker
 * every time still runs out of attempts instead of looping forever.
 *
 * Surviving restarts: everything lives in the table, so queued jobs simply wait for the next
 * worker. A running job holds a lease (`lease_expires_at`, default 30 s) that its worker renews
 * every third of the lease. When the worker dies (server killed, process hung), renewals stop;
 * any worker's poll then finds the lapsed lease and queues the job again (or fails it if that was
 * its last attempt). Every write an execution makes is fenced on (id, locked_by, attempts): a
 * worker that comes back after losing its lease cannot overwrite its successor's outcome, and it
 * learns at its next heartbeat that it should stop (its signal is aborted).
 * Consequence: delivery is at least once. Handlers must be idempotent (write with upserts, or check
 * what exists) and should honour `signal`.
 *
 * Waking up: workers poll (`pollIntervalMs`), which is all PGlite needs. Jobs enqueued in the same
 * process wake local workers at once, and on postgres-js workers also LISTEN on `processing_jobs`
 * (enqueue sends NOTIFY, delivered at commit) so other processes start without waiting for a poll.
 *
 * Duplicates: with a `dedupeKey`, at most one queued or running job exists per (kind, key), held by
 * the partial unique index `jobs_active_dedupe_key`; enqueueing again returns that job.
 *
 * Handlers are registered process-wide (on globalThis, because Next bundles instrumentation,
 * routes and actions separately). Register them before starting a worker: a claimed job whose kind
 * has no handler fails at once with a message naming the kind.
 */
import { sql } from 'drizzle-orm';
import { getDb, type Executor } from '@/db';
import {
  cancelJobById,
  findJob,
  insertJob,
  insertJobDeduped,
  latestJobPerStudy,
  listJobsByStudy,
  type StudyJobStatus,
} from '@/db/queries/jobs';
import type { ProcessingJob } from '@/db/schema';

export type { StudyJobStatus } from '@/db/queries/jobs';
export type JobRecord = ProcessingJob;
export type Job = JobRecord;
export type JobStatus = JobRecord['status'];

export interface JobContext {
  /** Fires when the job times out, is cancelled, or its lease was lost. `reason` says which. */
  signal: AbortSignal;
  /** 0–100, rounded and clamped; visible to readers at once. Throws once `signal` has fired. */
  setProgress(pct: number): Promise<void>;
}

export type JobResult = Record<string, unknown> | void;
export type JobHandler = (job: JobRecord, ctx: JobContext) => Promise<JobResult> | JobResult;

export interface EnqueueOptions {
  studyId?: string | null;
  uploadId?: string | null;
  createdBy?: string | null;
  /** Runs, counting the first; default 3. */
  maxAttempts?: number;
  /** Per attempt; default 300 (5 minutes). */
  timeoutSeconds?: number;
  /** At most one queued or running job per (kind, dedupeKey); a second enqueue returns it. */
  dedupeKey?: string | null;
  /** Not before this time (default: now). */
  runAt?: Date;
  /** Enqueue inside the caller's transaction, so the job exists only if the transaction commits. */
  db?: Executor;
}

export const NOTIFY_CHANNEL = 'processing_jobs';
export const DEFAULT_TIMEOUT_SECONDS = 300;
export const DEFAULT_MAX_ATTEMPTS = 3;

/** Thrown into a handler's signal when its attempt exceeds `timeoutSeconds`. */
export class JobTimeoutError extends Error {
  constructor(readonly timeoutSeconds: number) {
    super(`Timed out after ${timeoutSeconds} s`);
    this.name = 'JobTimeoutError';
  }
}

/** The job is no longer this execution's: cancelled, or taken over after the lease lapsed. */
export class JobLeaseLostError extends Error {
  constructor(jobId: string) {
    super(`Job ${jobId} was cancelled or taken over by another worker`);
    this.name = 'JobLeaseLostError';
  }
}

const globalForJobs = globalThis as typeof globalThis & {
  __imagingJobHandlers?: Map<string, JobHandler>;
  __imagingJobWakers?: Set<() => void>;
};
const handlers = (globalForJobs.__imagingJobHandlers ??= new Map());
const wakers = (globalForJobs.__imagingJobWakers ??= new Set());

/** Replaces any earlier handler for the kind, so that re-evaluated modules (dev reloads) are harmless. */
export function registerJobHandler(kind: string, handler: JobHandler): void {
  assertKind(kind);
  handlers.set(kind, handler);
}

export function getJobHandler(kind: string): JobHandler | undefined {
  return handlers.get(kind);
}

/** In-process wake-ups: local workers subscribe; enqueue notifies them. */
export function onJobEnqueued(wake: () => void): () => void {
  wakers.add(wake);
  return () => wakers.delete(wake);
}

function assertKind(kind: string): void {
  if (typeof kind !== 'string' || kind.length === 0 || kind.length > 200) {
    throw new TypeError(`Invalid job kind ${JSON.stringify(kind)}: expected 1–200 characters`);
  }
}

function positiveInteger(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`${name} must be a positive integer, got ${value}`);
  return value;
}

export async function enqueueJob(kind: string, payload: Record<string, unknown> = {}, options: EnqueueOptions = {}): Promise<JobRecord> {
  assertKind(kind);
  const db = options.db ?? (await getDb());
  const values = {
    kind,
    payload,
    studyId: options.studyId ?? null,
    uploadId: options.uploadId ?? null,
    createdBy: options.createdBy ?? null,
    maxAttempts: positiveInteger('maxAttempts', options.maxAttempts, DEFAULT_MAX_ATTEMPTS),
    // Timers cannot wait longer than 2^31−1 ms.
    timeoutSeconds: Math.min(positiveInteger('timeoutSeconds', options.timeoutSeconds, DEFAULT_TIMEOUT_SECONDS), 2_000_000),
    ...(options.runAt ? { runAt: options.runAt } : {}),
  };
  let job: JobRecord;
  let created = true;
  if (options.dedupeKey) {
    ({ job, created } = await insertJobDeduped(db, { ...values, dedupeKey: options.dedupeKey }));
  } else {
    job = await insertJob(db, values);
  }
  if (created) {
    // Delivered at commit, so a listener never looks before the row is visible.
    await db.execute(sql`select pg_notify(${NOTIFY_CHANNEL}, ${kind})`);
    for (const wake of wakers) wake();
  }
  return job;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Undefined for unknown and malformed ids alike (callers answer 404 either way). */
export async function getJob(id: string, db?: Executor): Promise<JobRecord | undefined> {
  if (!UUID.test(id)) return undefined;
  return findJob(db ?? (await getDb()), id);
}

/** Newest first. */
export async function listJobsForStudy(studyId: string, db?: Executor): Promise<JobRecord[]> {
  if (!UUID.test(studyId)) return [];
  return listJobsByStudy(db ?? (await getDb()), studyId);
}

/**
 * For the study list: per study id, its active job if any (so progress shows), else its newest.
 * Studies without jobs are absent.
 */
export async function latestJobStatusByStudy(studyIds: readonly string[], db?: Executor): Promise<Record<string, StudyJobStatus>> {
  const ids = [...new Set(studyIds.filter((id) => UUID.test(id)))];
  if (ids.length === 0) return {};
  const rows = await latestJobPerStudy(db ?? (await getDb()), ids);
  return Object.fromEntries(rows.map(({ studyId, ...status }) => [studyId, status]));
}

/** Cancels a queued or running job; undefined when it had already finished (or does not exist). */
export async function cancelJob(id: string, options: { reason?: string; db?: Executor } = {}): Promise<JobRecord | undefined> {
  if (!UUID.test(id)) return undefined;
  return cancelJobById(options.db ?? (await getDb()), id, options.reason ?? null);
}
