/**
 * Entry point of an image worker thread (started by lib/imaging/image-pool.ts): runs one
 * ImageTask per message and answers with its result or its error.
 */
import { parentPort } from 'node:worker_threads';
import sharp from 'sharp';
import { runImageTask, type ImageTask } from './image-tasks';
import { serializeError, type WorkerReply } from './worker-pool';

// Parallelism comes from the pool (one worker per core); libvips threads per image would only compete.
sharp.concurrency(1);

const port = parentPort;
if (!port) throw new Error('image-worker.ts runs as a worker thread');

port.on('message', async ({ id, task }: { id: number; task: ImageTask }) => {
  let reply: WorkerReply<unknown>;
  try {
    reply = { id, ok: true, result: await runImageTask(task, { worker: true }) };
  } catch (error) {
    reply = { id, ok: false, error: serializeError(error) };
  }
  port.postMessage(reply);
});
