import { randomUUID } from 'node:crypto';
import { and, inArray, like } from 'drizzle-orm';
import { getDb, type Executor } from '@/db';
import { patients, processingJobs, studies } from '@/db/schema';
import { startWorker, type JobWorker, type WorkerOptions } from '../worker';

/** Tests share one database: a kind of their own keeps their workers off each other's jobs. */
export function uniqueKind(name: string): string {
  return `test.${name}.${randomUUID().slice(0, 8)}`;
}

/** Other test files may run workers for every kind: leave them nothing of ours to trip over. */
export async function cancelLeftoverTestJobs(db?: Executor): Promise<void> {
  await (db ?? (await getDb()))
    .update(processingJobs)
    .set({ status: 'cancelled', leaseExpiresAt: null })
    .where(and(like(processingJobs.kind, 'test.%'), inArray(processingJobs.status, ['queued', 'running'])));
}

/** Collects the worker's log lines instead of printing them; tests assert on some. */
export function captureLogger() {
  const lines: string[] = [];
  const push = (...args: unknown[]) => void lines.push(args.map((a) => (a instanceof Error ? a.message : String(a))).join(' '));
  return { lines, logger: { warn: push, error: push } };
}

export async function waitFor<T>(probe: () => Promise<T | undefined | false | null> | T | undefined | false | null, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(20);
  }
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A promise the test settles by hand, to hold a handler mid-run. */
export function gate<T = void>() {
  let open!: (value: T) => void;
  const opened = new Promise<T>((resolve) => (open = resolve));
  return { opened, open };
}

/** Fast defaults so tests take milliseconds, not the production seconds. */
export function workerPool(defaults: WorkerOptions = {}) {
  const started: JobWorker[] = [];
  return {
    start(options: WorkerOptions = {}): JobWorker {
      const worker = startWorker({ pollIntervalMs: 20, leaseMs: 1000, backoffBaseMs: 20, shutdownTimeoutMs: 2000, ...defaults, ...options });
      started.push(worker);
      return worker;
    },
    async stopAll(): Promise<void> {
      await Promise.all(started.splice(0).map((w) => w.stop()));
    },
  };
}

export async function createStudy(db?: Executor): Promise<string> {
  const executor = db ?? (await getDb());
  const [patient] = await executor.insert(patients).values({ patientKey: `P-${randomUUID()}`, name: 'Test^Jobs' }).returning();
  const [study] = await executor
    .insert(studies)
    .values({ patientId: patient!.id, studyInstanceUid: `2.25.${BigInt(`0x${randomUUID().replace(/-/g, '')}`)}` })
    .returning();
  return study!.id;
}
