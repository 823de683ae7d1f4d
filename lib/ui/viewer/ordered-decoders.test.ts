import { afterEach, describe, expect, it, vi } from 'vitest';
import { installOrderedDecoders, orderedWorkerClass, ReplySequencer } from './ordered-decoders';

/** Stands in for the browser's Worker: records what it is sent, answers when told to. */
class FakeWorker extends EventTarget {
  readonly name: string;
  readonly received: unknown[] = [];
  terminated = false;
  #onmessage: ((ev: MessageEvent) => unknown) | null = null;

  constructor(_url: string | URL, options?: WorkerOptions) {
    super();
    this.name = options?.name ?? '';
  }
  get onmessage() {
    return this.#onmessage;
  }
  set onmessage(handler) {
    this.#onmessage = handler;
  }
  postMessage(message: unknown) {
    this.received.push(message);
  }
  terminate() {
    this.terminated = true;
  }
  /** The worker finished its task: listeners first, then the onmessage handler, as in browsers. */
  answer(data: unknown) {
    const event = new MessageEvent('message', { data });
    this.dispatchEvent(event);
    this.#onmessage?.call(this, event);
  }
}

type Ordered = FakeWorker & Worker;
const make = (sequencer = new ReplySequencer()) => ({ Ordered: orderedWorkerClass(FakeWorker as unknown as typeof Worker, sequencer), sequencer });

describe('dwv decoder workers answer in the order the frames were sent', () => {
  afterEach(() => vi.useRealTimers());

  it('delivers answers that finish last-frame-first in frame order', () => {
    const { Ordered, sequencer } = make();
    const delivered: number[] = [];
    const workers = [0, 1, 2, 3].map((frame) => {
      const worker = new Ordered('jpegloss.worker.min.js', { name: 'jpegloss.worker' }) as Ordered;
      worker.onmessage = (ev: MessageEvent) => delivered.push(ev.data as number);
      worker.postMessage(frame);
      return worker;
    });
    for (const frame of [3, 1, 0, 2]) workers[frame]!.answer(frame);
    expect(delivered).toEqual([0, 1, 2, 3]);
    expect(sequencer.pending).toBe(0);
  });

  it('keeps the order when a pool of two runs four frames, each answer starting the next task', () => {
    const { Ordered } = make();
    const delivered: number[] = [];
    const queue = [2, 3];
    const pool = [0, 1].map(() => new Ordered('rle.worker.min.js', { name: 'rle.worker' }) as Ordered);
    for (const worker of pool) {
      worker.onmessage = (ev: MessageEvent) => {
        delivered.push(ev.data as number);
        const next = queue.shift();
        if (next !== undefined) worker.postMessage(next);
      };
    }
    pool[0]!.postMessage(0);
    pool[1]!.postMessage(1);
    pool[1]!.answer(1); // held: frame 0 is not back yet
    expect(delivered).toEqual([]);
    pool[0]!.answer(0); // frees both: worker 0 takes frame 2, worker 1 takes frame 3
    expect(delivered).toEqual([0, 1]);
    expect(pool[0]!.received).toEqual([0, 2]);
    expect(pool[1]!.received).toEqual([1, 3]);
    pool[1]!.answer(3);
    pool[0]!.answer(2);
    expect(delivered).toEqual([0, 1, 2, 3]);
  });

  it('stops waiting for a worker once it is terminated (an aborted load)', () => {
    const { Ordered, sequencer } = make();
    const delivered: string[] = [];
    const stuck = new Ordered('x', { name: 'jpeg2000.worker' }) as Ordered;
    const done = new Ordered('x', { name: 'jpeg2000.worker' }) as Ordered;
    stuck.onmessage = () => delivered.push('stuck');
    done.onmessage = () => delivered.push('done');
    stuck.postMessage('a');
    done.postMessage('b');
    done.answer('b');
    expect(delivered).toEqual([]);
    stuck.terminate();
    expect(stuck.terminated).toBe(true);
    expect(delivered).toEqual(['done']);
    expect(sequencer.pending).toBe(0);
  });

  it('a handler that throws does not hold back the answers after it, and its error is rethrown', () => {
    vi.useFakeTimers();
    const { Ordered } = make();
    const delivered: number[] = [];
    const first = new Ordered('x', { name: 'jpegbaseline.worker' }) as Ordered;
    const second = new Ordered('x', { name: 'jpegbaseline.worker' }) as Ordered;
    first.onmessage = () => {
      throw new Error('dwv failed');
    };
    second.onmessage = (ev: MessageEvent) => delivered.push(ev.data as number);
    first.postMessage(0);
    second.postMessage(1);
    second.answer(1);
    first.answer(0);
    expect(delivered).toEqual([1]);
    expect(() => vi.runAllTimers()).toThrow('dwv failed');
  });

  it('leaves other workers alone: answers arrive as they come', () => {
    const { Ordered, sequencer } = make();
    const delivered: string[] = [];
    const a = new Ordered('x', { name: 'resampling.worker' }) as Ordered;
    const b = new Ordered('x') as Ordered;
    a.onmessage = () => delivered.push('a');
    b.onmessage = () => delivered.push('b');
    a.postMessage(0);
    b.postMessage(0);
    b.answer(0);
    a.answer(0);
    expect(delivered).toEqual(['b', 'a']);
    expect(sequencer.pending).toBe(0);
  });

  it('installs once', () => {
    const scope = { Worker: FakeWorker as unknown as typeof Worker };
    installOrderedDecoders(scope);
    const first = scope.Worker;
    installOrderedDecoders(scope);
    expect(scope.Worker).toBe(first);
    expect(first).not.toBe(FakeWorker);
    expect(new first('x', { name: 'jpegloss.worker' })).toBeInstanceOf(FakeWorker);
  });
});
