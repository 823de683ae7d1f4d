/**
 * Entry point of an ingest worker thread (started by lib/ingest/parse-pool.ts): parses one
 * uploaded file per message and answers with what it found or the error it threw. It runs under
 * resourceLimits, so a file that makes a parser allocate without bound kills this thread only.
 */
import { parentPort } from 'node:worker_threads';
import { serializeError, type WorkerReply } from '@/lib/imaging/worker-pool';
import { runParseTask, type ParseTask } from './parse-tasks';

const port = parentPort;
if (!port) throw new Error('parse-worker.ts runs as a worker thread');

port.on('message', async ({ id, task }: { id: number; task: ParseTask }) => {
  let reply: WorkerReply<unknown>;
  try {
    reply = { id, ok: true, result: await runParseTask(task) };
  } catch (error) {
    reply = { id, ok: false, error: serializeError(error) };
  }
  port.postMessage(reply);
});
