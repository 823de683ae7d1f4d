import { Worker } from 'node:worker_threads';
import { ApiError } from '@/lib/api/errors';
import { DicomParseError, type DicomErrorCode } from '@/lib/dicom';
import { getEnv } from '@/lib/env';
import { WorkerCrashedError, WorkerPool, WorkerTimeoutError, type SerializedError } from '@/lib/imaging/worker-pool';
import { NiftiParseError, type NiftiErrorCode, type NiftiInspection } from '@/lib/nifti';
import { runParseTask, type DicomHeader, type ParseResult, type ParseTask } from './parse-tasks';

/** Errors keep their class across the thread boundary, so the caller can answer the right 4xx. */
function reviveError(error: SerializedError): Error {
  switch (error.name) {
    case 'DicomParseError':
      return new DicomParseError(error.code as DicomErrorCode, error.message);
    case 'NiftiParseError':
      return new NiftiParseError(error.code as NiftiErrorCode, error.message);
    default:
      return Object.assign(new Error(error.message), { name: error.name, code: error.code });
  }
}

export interface ParseLimits {
  /** V8 heap of one worker (old generation), in MB. */
  memoryMb: number;
  /** Longest one file may take to parse, in ms. */
  timeoutMs: number;
}

/**
 * Inside a Next.js server the code is bundled and Turbopack makes the worker a chunk of its own;
 * run from source (Vitest, tsx scripts) the worker is the .ts file, loaded through tsx.
 */
function spawnParseWorker(limits: ParseLimits): Worker {
  // The young generation and the stack are bounded too: a deep or wide structure must fail here.
  const resourceLimits = { maxOldGenerationSizeMb: limits.memoryMb, maxYoungGenerationSizeMb: Math.max(4, Math.min(64, Math.floor(limits.memoryMb / 8))), stackSizeMb: 4 };
  if (process.env.NEXT_RUNTIME) return new Worker(new URL('./parse-worker.ts', import.meta.url), { name: 'ingest-worker', resourceLimits });
  const entry = import.meta.url.replace(/[^/]*$/, 'parse-worker.ts');
  const bootstrap = `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(entry)}); });`;
  return new Worker(bootstrap, { eval: true, name: 'ingest-worker', resourceLimits });
}

type ParsePool = WorkerPool<ParseTask, ParseResult>;
const globalForPool = globalThis as typeof globalThis & { __ingestPool?: { pool: ParsePool; key: string } };

/** The process's ingest workers (INGEST_WORKERS of them), started on first use; null when INGEST_WORKERS=0. */
export function parsePool(): ParsePool | null {
  const { workers, workerMemoryMb, parseTimeoutMs } = getEnv().ingest;
  if (workers === 0) return null;
  // Tests change the limits between runs (resetEnvForTests); a pool keeps the limits it started with.
  const key = `${workers}/${workerMemoryMb}/${parseTimeoutMs}`;
  const current = globalForPool.__ingestPool;
  if (current && current.key === key) return current.pool;
  if (current) void current.pool.close();
  const limits = { memoryMb: workerMemoryMb, timeoutMs: parseTimeoutMs };
  const pool: ParsePool = new WorkerPool({ size: workers, spawn: () => spawnParseWorker(limits), taskTimeoutMs: parseTimeoutMs, reviveError });
  globalForPool.__ingestPool = { pool, key };
  return pool;
}

/** Stops the ingest workers (tests, shutdown); the next file starts new ones. */
export async function closeParsePool(): Promise<void> {
  const current = globalForPool.__ingestPool;
  globalForPool.__ingestPool = undefined;
  await current?.pool.close();
}

/** Restarts of crashed or stuck workers since the pool started (tests and logs). */
export function parseWorkerRestarts(): number {
  return globalForPool.__ingestPool?.pool.restarts ?? 0;
}

/**
 * A worker that died or overran its time is the file's fault (nothing else runs there): the
 * upload is refused like any unreadable file, and the next file gets a fresh worker.
 */
function refusal(error: Error, format: 'dicom' | 'nifti'): ApiError | null {
  const code = format === 'dicom' ? 'invalid_dicom' : 'invalid_nifti';
  const { ingest } = getEnv();
  if (error instanceof WorkerTimeoutError) {
    return new ApiError(422, code, `The file could not be read within ${ingest.parseTimeoutMs} ms and was refused`, {}, { reason: 'parse_timeout' });
  }
  if (error instanceof WorkerCrashedError) {
    const outOfMemory = /ERR_WORKER_OUT_OF_MEMORY|out of memory/i.test(`${error.message} ${(error.cause as { code?: string } | undefined)?.code ?? ''}`);
    return new ApiError(
      422,
      code,
      outOfMemory ? `Reading the file needed more than ${ingest.workerMemoryMb} MB and was stopped; the file was refused` : 'Reading the file failed and was stopped; the file was refused',
      {},
      { reason: outOfMemory ? 'parse_memory_limit' : 'parse_crashed' },
    );
  }
  return null;
}

async function run(task: ParseTask, format: 'dicom' | 'nifti'): Promise<ParseResult> {
  const pool = parsePool();
  if (!pool) return runParseTask(task);
  try {
    return await pool.run(task);
  } catch (error) {
    throw (error instanceof Error && refusal(error, format)) || error;
  }
}

/** Reads a DICOM file's header on an ingest worker. Throws DicomParseError for bad data, ApiError 422 when the worker gave up. */
export async function parseDicomHeader(path: string, size: number): Promise<DicomHeader> {
  return (await run({ kind: 'dicom-header', path, size, maxInflatedBytes: getEnv().upload.maxInflatedBytes }, 'dicom')) as DicomHeader;
}

/** Validates a .nii / .nii.gz on an ingest worker. Throws NiftiParseError for bad data, ApiError 422 when the worker gave up. */
export async function parseNifti(path: string): Promise<NiftiInspection> {
  return (await run({ kind: 'nifti', path, maxInflatedBytes: getEnv().upload.maxInflatedBytes }, 'nifti')) as NiftiInspection;
}
