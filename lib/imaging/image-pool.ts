import { Worker } from 'node:worker_threads';
import { ApiError } from '@/lib/api/errors';
import { DicomParseError, type DicomErrorCode } from '@/lib/dicom';
import { getEnv } from '@/lib/env';
import { NiftiParseError, type NiftiErrorCode } from '@/lib/nifti';
import { PixelDecodeError, type PixelDecodeErrorCode } from './decode';
import { runImageTask, type CheckResult, type ImageTask, type RenderResult } from './image-tasks';
import { WorkerPool, type SerializedError } from './worker-pool';

// Decoding even a large multi-frame file takes seconds; a minute means a decoder is stuck.
const TASK_TIMEOUT_MS = 60_000;

/** Errors keep their class across the thread boundary, so callers can answer 4xx for bad files. */
function reviveError(error: SerializedError): Error {
  switch (error.name) {
    case 'PixelDecodeError':
      return new PixelDecodeError(error.code as PixelDecodeErrorCode, error.message);
    case 'DicomParseError':
      return new DicomParseError(error.code as DicomErrorCode, error.message);
    case 'NiftiParseError':
      return new NiftiParseError(error.code as NiftiErrorCode, error.message);
    case 'ApiError':
      return new ApiError(error.status ?? 500, (error.code ?? 'internal_error') as ApiError['code'], error.message, {}, error.details);
    default:
      return Object.assign(new Error(error.message), { name: error.name });
  }
}

/**
 * Inside a Next.js server the code is bundled, and Turbopack turns `new Worker(new URL(...))`
 * into a worker chunk of its own. Run from source (Vitest, tsx scripts), the worker is the .ts
 * file itself, loaded through tsx's ESM hooks.
 */
export function spawnImageWorker(): Worker {
  if (process.env.NEXT_RUNTIME) return new Worker(new URL('./image-worker.ts', import.meta.url), { name: 'image-worker' });
  const entry = import.meta.url.replace(/[^/]*$/, 'image-worker.ts');
  const bootstrap = `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(entry)}); });`;
  return new Worker(bootstrap, { eval: true, name: 'image-worker' });
}

type ImagePool = WorkerPool<ImageTask, RenderResult | CheckResult>;
const globalForPool = globalThis as typeof globalThis & { __imagePool?: ImagePool };

/** A pool of image workers as the server runs them (benchmarks and tests make their own). */
export function createImagePool(size: number): ImagePool {
  return new WorkerPool({ size, spawn: spawnImageWorker, taskTimeoutMs: TASK_TIMEOUT_MS, reviveError });
}

/** The process's image workers (IMAGE_WORKERS of them), started on first use; null when IMAGE_WORKERS=0. */
export function imagePool(): ImagePool | null {
  const size = getEnv().imaging.workers;
  if (size === 0) return null;
  globalForPool.__imagePool ??= createImagePool(size);
  return globalForPool.__imagePool;
}

function run(task: ImageTask): Promise<RenderResult | CheckResult> {
  const pool = imagePool();
  return pool ? pool.run(task) : runImageTask(task, { worker: false });
}

/**
 * Reads, decodes, renders and encodes an image on an image worker, keeping the request thread
 * free for I/O. Throws what the decoders throw (PixelDecodeError, DicomParseError…), or
 * WorkerCrashedError / WorkerTimeoutError when the file took its worker down.
 */
export async function renderInWorker(task: Extract<ImageTask, { kind: 'render-dicom' | 'render-nifti' }>): Promise<RenderResult> {
  return (await run(task)) as RenderResult;
}

/** Decodes frame 0 of a stored DICOM file on an image worker: proves that it renders. */
export async function checkDicomInWorker(path: string, options: { renderDefaultView?: boolean } = {}): Promise<CheckResult> {
  return (await run({ kind: 'check-dicom', path, renderDefaultView: options.renderDefaultView })) as CheckResult;
}

/** Stops the image workers (tests, shutdown); the next task starts new ones. */
export async function closeImagePool(): Promise<void> {
  const pool = globalForPool.__imagePool;
  globalForPool.__imagePool = undefined;
  await pool?.close();
}
