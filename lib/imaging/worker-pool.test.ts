import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { WorkerCrashedError, WorkerPool, WorkerTimeoutError } from './worker-pool';

type Task = { do: 'echo'; value: number } | { do: 'fail' | 'exit' | 'throw' | 'hang' | 'oom' };
type Result = { value: number; threadId: number };

const pools: WorkerPool<Task, Result>[] = [];

function makePool(size: number, taskTimeoutMs?: number) {
  const pool = new WorkerPool<Task, Result>({
    size,
    taskTimeoutMs,
    // A small heap so that the runaway allocation below hits the limit quickly.
    spawn: () => new Worker(new URL('./__fixtures__/pool-test-worker.mjs', import.meta.url), { resourceLimits: { maxOldGenerationSizeMb: 32 } }),
  });
  pools.push(pool);
  return pool;
}

afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.close()));
});

describe('WorkerPool', () => {
  it('runs tasks on its workers and hands back results and errors', async () => {
    const pool = makePool(2);
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => pool.run({ do: 'echo', value: i })));
    expect(results.map((r) => r.value)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    // Both workers took part: the tasks did not run one after the other on a single thread.
    expect(new Set(results.map((r) => r.threadId)).size).toBe(2);
    await expect(pool.run({ do: 'fail' })).rejects.toMatchObject({ name: 'PixelDecodeError', code: 'corrupt_pixel_data', message: 'damaged' });
    expect(pool.restarts).toBe(0);
  });

  it.each(['exit', 'throw', 'oom'] as const)('a worker that dies (%s) fails only its own task and is replaced', async (how) => {
    const pool = makePool(1);
    const before = await pool.run({ do: 'echo', value: 1 });
    const crash = pool.run({ do: how });
    // Queued behind the crash on the only worker: must still run, on a fresh thread.
    const after = pool.run({ do: 'echo', value: 2 });
    await expect(crash).rejects.toBeInstanceOf(WorkerCrashedError);
    const next = await after;
    expect(next.value).toBe(2);
    expect(next.threadId).not.toBe(before.threadId);
    expect(pool.restarts).toBe(1);
    expect(pool.pending).toBe(0);
  });

  it('stops a task that runs past the time limit and carries on with a fresh worker', async () => {
    const pool = makePool(1, 500);
    const hung = pool.run({ do: 'hang' });
    const after = pool.run({ do: 'echo', value: 7 });
    await expect(hung).rejects.toBeInstanceOf(WorkerTimeoutError);
    expect((await after).value).toBe(7);
    expect(pool.restarts).toBe(1);
  });

  it('refuses tasks once closed and rejects what was still waiting', async () => {
    const pool = makePool(1);
    const hung = expect(pool.run({ do: 'hang' })).rejects.toThrow(/closed/);
    const waiting = expect(pool.run({ do: 'echo', value: 1 })).rejects.toThrow(/closed/);
    await pool.close();
    await hung;
    await waiting;
    await expect(pool.run({ do: 'echo', value: 1 })).rejects.toThrow(/closed/);
  });

  it('needs at least one worker', () => {
    expect(() => new WorkerPool({ size: 0, spawn: () => new Worker('', { eval: true }) })).toThrow(/at least one/);
  });
});
