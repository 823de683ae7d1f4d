import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

/** Hands out zeroed memory of at least `byteLength` bytes; callers view only the bytes they asked for. */
export type Allocate = (byteLength: number) => ArrayBufferLike;

// Buffers larger than this are not kept between tasks: one huge multi-frame file must not pin
// its size in every worker for good.
const MAX_KEPT_BYTES = 64 * 1024 * 1024;

/**
 * Memory an image worker reuses from one task to the next: the file it reads, the decoded
 * frame (when it is not kept for the frame cache) and the rendered pixels. An image takes about
 * 2 MB of such buffers; fresh memory costs a page fault per 4 KB on first touch, which on a
 * virtual machine was a third of the worker's time per image. The n-th allocation of a task
 * reuses the n-th buffer of the previous one, so a series of same-sized images allocates once.
 *
 * Only for code that runs one task at a time and lets nothing it allocated here outlive the
 * task (an image worker: its results are copied out by postMessage). Never in a thread where
 * tasks interleave at await points.
 */
export class ScratchArena {
  private readonly buffers: ArrayBuffer[] = [];
  private next = 0;

  /** Starts a task: every buffer may be handed out again. */
  reset(): void {
    this.next = 0;
  }

  /** Zeroed, like a new ArrayBuffer. */
  readonly allocate: Allocate = (byteLength) => this.take(byteLength, true);

  /** The whole file, in a reused buffer (valid until the next reset). */
  readFile(path: string): Uint8Array {
    const fd = openSync(path, 'r');
    try {
      const size = fstatSync(fd).size;
      const bytes = new Uint8Array(this.take(size, false), 0, size);
      let at = 0;
      while (at < size) {
        const read = readSync(fd, bytes, at, size - at, at);
        if (read === 0) break;
        at += read;
      }
      // A file that shrank while being read: what was read, as readFileSync would give.
      return at === size ? bytes : bytes.subarray(0, at);
    } finally {
      closeSync(fd);
    }
  }

  private take(byteLength: number, zero: boolean): ArrayBuffer {
    const index = this.next++;
    const kept = this.buffers[index];
    if (kept && kept.byteLength >= byteLength) {
      if (zero) new Uint8Array(kept, 0, byteLength).fill(0);
      return kept;
    }
    const fresh = new ArrayBuffer(byteLength);
    if (byteLength <= MAX_KEPT_BYTES) this.buffers[index] = fresh;
    return fresh;
  }
}

/** SharedArrayBuffer memory, for decoded frames that go to the frame cache (read by every worker). */
export const allocateShared: Allocate = (byteLength) => new SharedArrayBuffer(byteLength);
