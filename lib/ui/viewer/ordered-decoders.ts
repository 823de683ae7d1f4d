/**
 * dwv decodes the frames of a compressed multi-frame file on up to ten web workers at once, but
 * assumes their answers come back in order: it builds the image when frame 0 arrives and ends the
 * load when the last frame arrives. When the last frame is decoded first (frames differ in size, so
 * this happens whenever the machine is busy), dwv throws "Cannot find data to mark as complete"
 * inside the worker's message handler and the load never ends: the viewer spins for ever.
 *
 * This wraps the page's Worker class so that dwv's decoder workers hand their answers to dwv in
 * the order the work was sent to them. Decoding still runs in parallel; only the delivery waits.
 */

/** The names dwv gives its decoder workers (`new Worker(url, { name })`). */
export const DWV_DECODER_WORKERS: ReadonlySet<string> = new Set(['jpegbaseline.worker', 'jpegloss.worker', 'jpeg2000.worker', 'rle.worker']);

interface Pending {
  worker: object;
  deliver?: () => void;
}

/**
 * Answers in the order of their requests, across all the workers it tracks. A worker does one task
 * at a time, so an answer belongs to that worker's oldest unanswered request.
 */
export class ReplySequencer {
  private queue: Pending[] = [];
  private flushing = false;

  sent(worker: object) {
    this.queue.push({ worker });
  }

  replied(worker: object, deliver: () => void) {
    const entry = this.queue.find((e) => e.worker === worker && !e.deliver);
    if (!entry) {
      // An answer nothing asked for (or one for a request made before tracking): nothing to wait for.
      deliver();
      return;
    }
    entry.deliver = deliver;
    this.flush();
  }

  /** The worker was terminated: its unanswered requests will never be answered, so stop waiting. */
  dropped(worker: object) {
    this.queue = this.queue.filter((e) => e.worker !== worker);
    this.flush();
  }

  /** Requests not yet handed over (waiting for their answer or for an earlier one). */
  get pending(): number {
    return this.queue.length;
  }

  private flush() {
    // dwv's handler starts the next task (sent) or terminates the worker (dropped) while it runs:
    // the outer loop picks those changes up instead of a nested flush.
    if (this.flushing) return;
    this.flushing = true;
    try {
      while (this.queue[0]?.deliver) {
        const entry = this.queue.shift()!;
        try {
          entry.deliver!();
        } catch (error) {
          // A throwing handler must not hold back the answers after it; the error still surfaces.
          setTimeout(() => {
            throw error;
          });
        }
      }
    } finally {
      this.flushing = false;
    }
  }
}

type MessageHandler = ((this: Worker, ev: MessageEvent) => unknown) | null;

/** A Worker class whose dwv decoder workers deliver `onmessage` in request order through `sequencer`. */
export function orderedWorkerClass(Base: typeof Worker, sequencer: ReplySequencer): typeof Worker {
  return class OrderedWorker extends Base {
    readonly #ordered: boolean;
    #handler: MessageHandler = null;

    constructor(url: string | URL, options?: WorkerOptions) {
      super(url, options);
      this.#ordered = DWV_DECODER_WORKERS.has(options?.name ?? '');
      if (this.#ordered) {
        super.addEventListener('message', (event: MessageEvent) => {
          sequencer.replied(this, () => this.#handler?.call(this, event));
        });
      }
    }

    override get onmessage(): MessageHandler {
      return this.#ordered ? this.#handler : super.onmessage;
    }

    override set onmessage(handler: MessageHandler) {
      if (this.#ordered) this.#handler = handler;
      else super.onmessage = handler;
    }

    override postMessage(message: unknown, options?: StructuredSerializeOptions | Transferable[]) {
      if (this.#ordered) sequencer.sent(this);
      super.postMessage(message, options as StructuredSerializeOptions);
    }

    override terminate() {
      if (this.#ordered) sequencer.dropped(this);
      super.terminate();
    }
  };
}

const INSTALLED = Symbol.for('imaging.orderedDecoderWorkers');

/** Replaces `scope.Worker` once (before dwv creates any worker). */
export function installOrderedDecoders(scope: { Worker: typeof Worker }) {
  const current = scope.Worker as typeof Worker & { [INSTALLED]?: true };
  if (current[INSTALLED]) return;
  const ordered = orderedWorkerClass(current, new ReplySequencer()) as typeof Worker & { [INSTALLED]?: true };
  ordered[INSTALLED] = true;
  scope.Worker = ordered;
}
