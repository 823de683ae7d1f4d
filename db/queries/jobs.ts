import { and, asc, desc, eq, inArray, isNull, lte, or, sql, type SQL } from 'drizzle-orm';
import type { Executor } from '../index';
import { processingJobs, type ProcessingJob } from '../schema';

export type NewProcessingJob = typeof processingJobs.$inferInsert;
export type JobStatus = ProcessingJob['status'];

/**
 * Identifies one execution of a job: the worker that claimed it and the attempt number the
 * claim produced. Every write a worker makes is conditioned on it, so a worker that lost its
 * lease (and whose job was taken over) can no longer change the row.
 */
export interface JobFence {
  id: string;
  workerId: string;
  attempt: number;
}

// Timestamps are computed by the database so that workers on hosts with skewed clocks agree.
const inMs = (ms: number) => sql`now() + ${Math.max(0, Math.round(ms))}::double precision * interval '1 millisecond'`;

const ACTIVE = sql`${processingJobs.status} in ('queued', 'running')`;

function fenced(fence: JobFence): SQL {
  return and(
    eq(processingJobs.id, fence.id),
    eq(processingJobs.status, 'running'),
    eq(processingJobs.lockedBy, fence.workerId),
    eq(processingJobs.attempts, fence.attempt),
  )!;
}

export async function insertJob(db: Executor, job: NewProcessingJob): Promise<ProcessingJob> {
  const [row] = await db.insert(processingJobs).values(job).returning();
  if (!row) throw new Error('job insert returned no row');
  return row;
}

/**
 * Inserts unless an active job with the same (kind, dedupe key) exists, in which case that one is
 * returned. Relies on the partial unique index `jobs_active_dedupe_key`, so concurrent callers
 * cannot both insert; the loop covers the active job finishing between the two statements.
 */
export async function insertJobDeduped(
  db: Executor,
  job: NewProcessingJob & { dedupeKey: string },
): Promise<{ job: ProcessingJob; created: boolean }> {
  for (let tries = 0; tries < 5; tries++) {
    const [row] = await db
      .insert(processingJobs)
      .values(job)
      .onConflictDoNothing({
        target: [processingJobs.kind, processingJobs.dedupeKey],
        // Must match the index predicate for PostgreSQL to infer the partial index.
        where: sql`status in ('queued', 'running') and dedupe_key is not null`,
      })
      .returning();
    if (row) return { job: row, created: true };
    const [existing] = await db
      .select()
      .from(processingJobs)
      .where(and(eq(processingJobs.kind, job.kind), eq(processingJobs.dedupeKey, job.dedupeKey), ACTIVE))
      .limit(1);
    if (existing) return { job: existing, created: false };
  }
  throw new Error(`could not enqueue or find the active "${job.kind}" job for dedupe key ${job.dedupeKey}`);
}

export async function findJob(db: Executor, id: string): Promise<ProcessingJob | undefined> {
  const [row] = await db.select().from(processingJobs).where(eq(processingJobs.id, id)).limit(1);
  return row;
}

export async function listJobsByStudy(db: Executor, studyId: string): Promise<ProcessingJob[]> {
  return db
    .select()
    .from(processingJobs)
    .where(eq(processingJobs.studyId, studyId))
    .orderBy(desc(processingJobs.createdAt), desc(processingJobs.id));
}

export interface StudyJobStatus {
  jobId: string;
  kind: string;
  status: JobStatus;
  progress: number;
  attempts: number;
  maxAttempts: number;
  error: string | null;
  updatedAt: Date;
}

/**
 * One job per study for the study list: an active (queued or running) job wins over finished
 * ones, so a study being processed shows its progress even if an older job of another kind
 * finished later; otherwise the newest job.
 */
export async function latestJobPerStudy(db: Executor, studyIds: readonly string[]): Promise<(StudyJobStatus & { studyId: string })[]> {
  if (studyIds.length === 0) return [];
  const rows = await db
    .selectDistinctOn([processingJobs.studyId], {
      studyId: processingJobs.studyId,
      jobId: processingJobs.id,
      kind: processingJobs.kind,
      status: processingJobs.status,
      progress: processingJobs.progress,
      attempts: processingJobs.attempts,
      maxAttempts: processingJobs.maxAttempts,
      error: processingJobs.error,
      updatedAt: processingJobs.updatedAt,
    })
    .from(processingJobs)
    .where(inArray(processingJobs.studyId, [...studyIds]))
    .orderBy(processingJobs.studyId, sql`(${ACTIVE}) desc`, desc(processingJobs.createdAt), desc(processingJobs.id));
  return rows.flatMap((r) => (r.studyId ? [{ ...r, studyId: r.studyId }] : []));
}

/**
 * Claims the next due job: one statement, `UPDATE … WHERE id = (SELECT … FOR UPDATE SKIP LOCKED
 * LIMIT 1) RETURNING *`. Row locks make concurrent claimers skip each other's candidate instead
 * of waiting or claiming it twice. The attempt is counted here, not on failure, so a job that
 * kills its worker every time still runs out of attempts.
 */
export async function claimNextJob(
  db: Executor,
  options: { workerId: string; leaseMs: number; kinds?: readonly string[] },
): Promise<ProcessingJob | undefined> {
  const due = and(
    eq(processingJobs.status, 'queued'),
    lte(processingJobs.runAt, sql`now()`),
    options.kinds ? inArray(processingJobs.kind, [...options.kinds]) : undefined,
  );
  const next = db
    .select({ id: processingJobs.id })
    .from(processingJobs)
    .where(due)
    .orderBy(asc(processingJobs.runAt), asc(processingJobs.createdAt))
    .limit(1)
    .for('update', { skipLocked: true });
  const [row] = await db
    .update(processingJobs)
    .set({
      status: 'running',
      attempts: sql`${processingJobs.attempts} + 1`,
      progress: 0,
      lockedAt: sql`now()`,
      lockedBy: options.workerId,
      leaseExpiresAt: inMs(options.leaseMs),
      finishedAt: null,
    })
    .where(sql`${processingJobs.id} = (${next})`)
    .returning();
  return row;
}

/** Extends the lease; false when the job is no longer this execution's (reclaimed or cancelled). */
export async function renewJobLease(db: Executor, fence: JobFence, leaseMs: number): Promise<boolean> {
  const rows = await db
    .update(processingJobs)
    .set({ leaseExpiresAt: inMs(leaseMs) })
    .where(fenced(fence))
    .returning({ id: processingJobs.id });
  return rows.length > 0;
}

export async function updateJobProgress(db: Executor, fence: JobFence, progress: number): Promise<boolean> {
  const rows = await db.update(processingJobs).set({ progress }).where(fenced(fence)).returning({ id: processingJobs.id });
  return rows.length > 0;
}

export async function completeJob(db: Executor, fence: JobFence, result: Record<string, unknown> | null): Promise<boolean> {
  const rows = await db
    .update(processingJobs)
    .set({ status: 'succeeded', result, progress: 100, error: null, leaseExpiresAt: null, finishedAt: sql`now()` })
    .where(fenced(fence))
    .returning({ id: processingJobs.id });
  return rows.length > 0;
}

/** Records a failed attempt: back to the queue after `retryInMs`, or failed for good when null. */
export async function failJobAttempt(
  db: Executor,
  fence: JobFence,
  failure: { error: string; retryInMs: number | null },
): Promise<ProcessingJob | undefined> {
  const retry = failure.retryInMs !== null;
  const [row] = await db
    .update(processingJobs)
    .set({
      status: retry ? 'queued' : 'failed',
      error: failure.error,
      leaseExpiresAt: null,
      ...(retry
        ? { runAt: inMs(failure.retryInMs ?? 0), lockedAt: null, lockedBy: null }
        : { finishedAt: sql`now()` }),
    })
    .where(fenced(fence))
    .returning();
  return row;
}

/**
 * Takes back running jobs whose lease lapsed (their worker died or hung): queued again at once,
 * or failed when that was the last attempt. Safe to run from every worker concurrently: the
 * status condition is re-checked on the locked row, so each job is taken back once.
 */
export async function reclaimExpiredJobs(db: Executor): Promise<Pick<ProcessingJob, 'id' | 'kind' | 'status' | 'attempts'>[]> {
  const last = sql`${processingJobs.attempts} >= ${processingJobs.maxAttempts}`;
  return db
    .update(processingJobs)
    .set({
      status: sql`case when ${last} then 'failed'::job_status else 'queued'::job_status end`,
      error: sql`'Worker ' || coalesce(${processingJobs.lockedBy}, '?') || ' stopped responding (lease expired during attempt ' || ${processingJobs.attempts} || ')'`,
      runAt: sql`now()`,
      finishedAt: sql`case when ${last} then now() end`,
      lockedAt: null,
      lockedBy: null,
      leaseExpiresAt: null,
    })
    .where(
      and(
        eq(processingJobs.status, 'running'),
        or(isNull(processingJobs.leaseExpiresAt), lte(processingJobs.leaseExpiresAt, sql`now()`)),
      ),
    )
    .returning({ id: processingJobs.id, kind: processingJobs.kind, status: processingJobs.status, attempts: processingJobs.attempts });
}

/** Cancels a queued or running job; a running handler is aborted at its worker's next heartbeat. */
export async function cancelJobById(db: Executor, id: string, reason: string | null = null): Promise<ProcessingJob | undefined> {
  const [row] = await db
    .update(processingJobs)
    .set({ status: 'cancelled', error: reason, leaseExpiresAt: null, finishedAt: sql`now()` })
    .where(and(eq(processingJobs.id, id), ACTIVE))
    .returning();
  return row;
}
