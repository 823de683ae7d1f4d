import type { Worker } from 'node:worker_threads';

/** What a worker posts back for a task: its result, or the error it threw, flattened. */
export type WorkerReply<R> = { id: number; ok: true; result: R } | { id: number; ok: false; error: SerializedError };

export interface SerializedError {
  name: string;
  message: string;
  code?: string;
  status?: number;
  details?: unknown;
}

/** The worker died (uncaught exception, out of memory, process.exit) while running the task. */
export class WorkerCrashedError extends Error {
  readonly code = 'worker_crashed';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'WorkerCrashedError';
  }
}

/** The task ran past the pool's time limit; its worker was terminated and replaced. */
export class WorkerTimeoutError extends Error {
  readonly code = 'worker_timeout';
  constructor(message: string) {
    super(message);
    this.name = 'WorkerTimeoutError';
  }
}

/** Turns any thrown value into something structured clone can carry between threads. */
export function serializeError(error: unknown): SerializedError {
  if (!(error instanceof Error)) return { name: 'Error', message: String(error) };
  const { code, status, details } = error as { code?: unknown; status?: unknown; details?: unknown };
  return {
    name: error.name,
    message: error.message,
    ...(typeof code === 'string' ? { code } : {}),
    ...(typeof status === 'number' ? { status } : {}),
    ...(details === undefined ? {} : { details: JSON.parse(JSON.stringify(details)) as unknown }),
  };
}

export interface WorkerPoolOptions {
  /** Number of worker threads (at least 1). */
  size: number;
  /** Starts one worker. Each worker runs one task at a time. */
  spawn: () => Worker;
  /** A task running longer than this is abandoned and its worker replaced (a decoder stuck on a hostile file). */
  taskTimeoutMs?: number;
  /** Rebuilds an error a worker reported (default: a plain Error with the same name, message and code). */
  reviveError?: (error: SerializedError) => Error;
}

interface Task<T, R> {
  message: T;
  resolve: (result: R) => void;
  reject: (error: Error) => void;
}

interface Slot<T, R> {
  worker: Worker | null;
  task: (Task<T, R> & { id: number; timer: NodeJS.Timeout | null }) | null;
}

function defaultRevive(error: SerializedError): Error {
  return Object.assign(new Error(error.message), { name: error.name, code: error.code, status: error.status, details: error.details });
}

/**
 * A fixed number of worker threads, each running one task at a time, with a FIFO queue in front.
 * A worker that crashes or overruns the time limit fails only the task it was running (with
 * WorkerCrashedError / WorkerTimeoutError) and is replaced by a fresh one on the next task, so one
 * hostile input never takes the pool down. Idle workers are unref'd: they never keep the process
 * alive on their own.
 */
export class WorkerPool<T, R> {
  private readonly slots: Slot<T, R>[];
  private readonly queue: Task<T, R>[] = [];
  private nextId = 1;
  private closed = false;
  /** Workers replaced after a crash or a timeout, for logs and tests. */
  restarts = 0;

  constructor(private readonly options: WorkerPoolOptions) {
    if (!Number.isInteger(options.size) || options.size < 1) throw new Error(`a worker pool needs at least one worker, not ${options.size}`);
    this.slots = Array.from({ length: options.size }, () => ({ worker: null, task: null }));
  }

  get size(): number {
    return this.slots.length;
  }

  /** Tasks running plus tasks waiting. */
  get pending(): number {
    return this.queue.length + this.slots.filter((s) => s.task).length;
  }

  run(message: T): Promise<R> {
    if (this.closed) return Promise.reject(new Error('the worker pool is closed'));
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ message, resolve, reject });
      this.dispatch();
    });
  }

  /** Stops every worker; tasks still queued or running are rejected. */
  async close(): Promise<void> {
    this.closed = true;
    for (const task of this.queue.splice(0)) task.reject(new Error('the worker pool was closed'));
    await Promise.all(
      this.slots.map(async (slot) => {
        const { worker, task } = slot;
        slot.worker = null;
        slot.task = null;
        if (task) {
          if (task.timer) clearTimeout(task.timer);
          task.reject(new Error('the worker pool was closed'));
        }
        if (worker) await worker.terminate();
      }),
    );
  }

  private dispatch(): void {
    for (const slot of this.slots) {
      if (this.queue.length === 0) return;
      if (slot.task) continue;
      const task = this.queue.shift()!;
      const worker = slot.worker ?? this.start(slot);
      const id = this.nextId++;
      const timeout = this.options.taskTimeoutMs;
      const timer = timeout
        ? setTimeout(() => this.fail(slot, worker, new WorkerTimeoutError(`the image worker took longer than ${timeout} ms and was stopped`), true), timeout)
        : null;
      slot.task = { ...task, id, timer };
      worker.ref();
      try {
        worker.postMessage({ id, task: task.message });
      } catch (error) {
        // Not cloneable: the caller's mistake, not the worker's.
        slot.task = null;
        if (timer) clearTimeout(timer);
        worker.unref();
        task.reject(error instanceof Error ? error : new Error(String(error)));
      }
    }
  }

  private start(slot: Slot<T, R>): Worker {
    const worker = this.options.spawn();
    slot.worker = worker;
    worker.unref();
    worker.on('message', (reply: WorkerReply<R>) => {
      const task = slot.task;
      if (slot.worker !== worker || !task || reply.id !== task.id) return;
      if (task.timer) clearTimeout(task.timer);
      slot.task = null;
      worker.unref();
      if (reply.ok) task.resolve(reply.result);
      else task.reject((this.options.reviveError ?? defaultRevive)(reply.error));
      this.dispatch();
    });
    worker.on('messageerror', (error) => this.fail(slot, worker, new WorkerCrashedError(`the image worker's answer could not be read: ${error.message}`, { cause: error }), true));
    worker.on('error', (error) => this.fail(slot, worker, new WorkerCrashedError(`the image worker crashed: ${error.message}`, { cause: error }), false));
    worker.on('exit', (code) => this.fail(slot, worker, new WorkerCrashedError(`the image worker exited (code ${code}) while working`), false));
    return worker;
  }

  /** Fails the slot's task (if the failing worker is still the slot's) and drops the worker. */
  private fail(slot: Slot<T, R>, worker: Worker, error: Error, terminate: boolean): void {
    if (slot.worker !== worker) return;
    slot.worker = null;
    const task = slot.task;
    slot.task = null;
    if (terminate) void worker.terminate();
    if (!this.closed) this.restarts++;
    if (task) {
      if (task.timer) clearTimeout(task.timer);
      task.reject(error);
    }
    if (!this.closed) this.dispatch();
  }
}
