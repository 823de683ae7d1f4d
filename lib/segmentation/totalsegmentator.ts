import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { access, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { gunzip, gzip } from 'node:zlib';
import { getEnv } from '@/lib/env';
import { parseNiftiHeader, readNiftiVolume, storedAsNumbers } from '@/lib/nifti';
import { readNiftiExtensions, writeNifti1 } from '@/lib/nifti/write';
import { scratchDir } from '@/lib/storage';
import { structureColor } from './structures';
import { classesOf, type TotalSegmentatorTask } from './totalsegmentator-classes';
import { SegmentationError, type EngineOutput, type ImageVolume, type SegmentationEngine, type SegmentationOptions, type StructureInfo } from './types';

const gzipAsync = promisify(gzip);
const gunzipAsync = promisify(gunzip);

export const EXECUTABLE = 'TotalSegmentator';
const OUTPUT_TAIL = 2000;
const KILL_GRACE_MS = 5000;

/**
 * TotalSegmentator (https://github.com/wasserth/TotalSegmentator) as a segmentation engine, run
 * either as its command-line tool or through an HTTP service.
 *
 * CLI (TOTALSEGMENTATOR_PATH, else `TotalSegmentator` on PATH), as its README documents:
 *   TotalSegmentator -i input.nii.gz -o segmentations [--fast] [--roi_subset liver spleen] [-ta total_mr]
 *     → segmentations/<structure>.nii.gz, one binary mask per class on the input's grid;
 *   TotalSegmentator -i input.nii.gz -o segmentations.nii.gz --ml …
 *     → one multi-label file; label names in its NIfTI extension (a CaretExtension label table),
 *       or else the task's class map.
 * The input is always the series volume written as NIfTI (not the DICOM files): the masks then
 * come back on exactly the grid of our volume, so they overlay the viewer's slices.
 *
 * HTTP (TOTALSEGMENTATOR_URL): POST the input NIfTI (.nii.gz) as the body, with query parameters
 * task, fast=true and roi_subset=a,b; the answer is the multi-label NIfTI (as with --ml). A
 * bearer token (TOTALSEGMENTATOR_TOKEN) is sent when set. TotalSegmentator ships no server of
 * its own; this is the contract for a thin wrapper around its Python API.
 */
export function taskFor(modality: string | null): TotalSegmentatorTask {
  return modality === 'MR' ? 'total_mr' : 'total';
}

/** The executable to run, or null: TOTALSEGMENTATOR_PATH when set, else the first on PATH. */
export async function findExecutable(): Promise<string | null> {
  const configured = getEnv().segmentation.totalSegmentatorPath;
  const candidates = configured
    ? [configured]
    : (process.env.PATH ?? '')
        .split(path.delimiter)
        .filter(Boolean)
        .map((dir) => path.join(dir, EXECUTABLE));
  for (const candidate of candidates) {
    try {
      await access(candidate, fsConstants.X_OK);
      return candidate;
    } catch {
      // not there, or not executable
    }
  }
  return null;
}

function tail(text: string): string {
  const trimmed = text.trim();
  return trimmed.length > OUTPUT_TAIL ? `…${trimmed.slice(-OUTPUT_TAIL)}` : trimmed;
}

/** Runs the tool in its own process group, so that aborting also ends the workers it starts. */
function runProcess(executable: string, args: string[], signal: AbortSignal): Promise<{ code: number | null; signal: NodeJS.Signals | null; output: string }> {
  return new Promise((resolve, reject) => {
    signal.throwIfAborted();
    const child = spawn(executable, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let output = '';
    const collect = (chunk: Buffer) => {
      output = (output + chunk.toString('utf8')).slice(-4 * OUTPUT_TAIL);
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    let killTimer: NodeJS.Timeout | undefined;
    const kill = (sig: NodeJS.Signals) => {
      try {
        if (child.pid) process.kill(-child.pid, sig);
      } catch {
        // already gone
      }
    };
    const onAbort = () => {
      kill('SIGTERM');
      killTimer = setTimeout(() => kill('SIGKILL'), KILL_GRACE_MS);
      killTimer.unref();
    };
    signal.addEventListener('abort', onAbort, { once: true });
    child.on('error', (error) => {
      signal.removeEventListener('abort', onAbort);
      reject(new SegmentationError(`TotalSegmentator could not be started (${executable}): ${error.message}`));
    });
    child.on('close', (code, exitSignal) => {
      signal.removeEventListener('abort', onAbort);
      clearTimeout(killTimer);
      if (signal.aborted) reject(signal.reason);
      else resolve({ code, signal: exitSignal, output });
    });
  });
}

/** Label names from TotalSegmentator's NIfTI extension (`<Label Key="5" …><![CDATA[liver]]></Label>`). */
export function labelTableOf(bytes: Uint8Array): Map<number, string> {
  const header = parseNiftiHeader(bytes);
  const table = new Map<number, string>();
  for (const extension of readNiftiExtensions(bytes, header.sizeofHdr, header.voxOffset)) {
    const text = new TextDecoder().decode(extension.data);
    for (const match of text.matchAll(/<Label\b[^>]*\bKey="(\d+)"[^>]*>\s*(?:<!\[CDATA\[([^\]]*)\]\]>|([^<]*))\s*<\/Label>/g)) {
      const name = (match[2] ?? match[3] ?? '').trim();
      if (name) table.set(Number(match[1]), name);
    }
  }
  return table;
}

async function inflate(bytes: Uint8Array, expectedVoxels: number): Promise<Uint8Array> {
  if (bytes[0] !== 0x1f || bytes[1] !== 0x8b) return bytes;
  // A mask is at most 8 bytes a voxel plus header and extensions; anything bigger is not ours.
  return new Uint8Array(await gunzipAsync(bytes, { maxOutputLength: expectedVoxels * 8 + 1024 * 1024 }));
}

/** Reads an output NIfTI and checks it lies on the input's grid. */
async function readOutput(bytes: Uint8Array, volume: ImageVolume, what: string): Promise<{ values: ArrayLike<number>; bytes: Uint8Array }> {
  const [nx, ny, nz] = volume.dims;
  let inflated: Uint8Array;
  let values: ArrayLike<number>;
  try {
    inflated = await inflate(bytes, nx * ny * nz);
    const nifti = readNiftiVolume(inflated, { volume: 0 });
    if (nifti.shape[0] !== nx || nifti.shape[1] !== ny || nifti.shape[2] !== nz) {
      throw new SegmentationError(`${what} is ${nifti.shape.join(' × ')} voxels, not the input's ${nx} × ${ny} × ${nz}.`);
    }
    values = storedAsNumbers(nifti.stored);
  } catch (error) {
    if (error instanceof SegmentationError) throw error;
    throw new SegmentationError(`${what} is not a readable NIfTI file: ${error instanceof Error ? error.message : String(error)}`);
  }
  return { values, bytes: inflated };
}

interface Assembled {
  labels: Uint8Array;
  /** label → name */
  names: Map<number, string>;
}

function finish(assembled: Assembled, requested: readonly string[] | undefined, task: TotalSegmentatorTask, fast: boolean): EngineOutput {
  const counts = new Float64Array(256);
  for (let i = 0; i < assembled.labels.length; i++) counts[assembled.labels[i]!]!++;
  const structures: StructureInfo[] = [...assembled.names]
    .filter(([label, name]) => label > 0 && (counts[label]! > 0 || requested?.includes(name)))
    .sort((a, b) => a[0] - b[0])
    .map(([label, name]) => ({ label, name, color: structureColor(name, label) }));
  return { labels: assembled.labels, structures, model: `TotalSegmentator ${task}${fast ? ' (fast)' : ''}` };
}

/** Per-structure masks: `<structure>.nii.gz` in the output folder, labelled by the task's class map. */
async function assembleMasks(folder: string, volume: ImageVolume, task: TotalSegmentatorTask, requested: readonly string[] | undefined, signal: AbortSignal): Promise<Assembled> {
  let files: string[];
  try {
    files = (await readdir(folder)).filter((f) => f.endsWith('.nii.gz') || f.endsWith('.nii')).sort();
  } catch {
    files = [];
  }
  if (files.length === 0) throw new SegmentationError('TotalSegmentator finished but wrote no masks (no <structure>.nii.gz in its output folder).');
  const classes = classesOf(task);
  const present = new Set(files.map((f) => f.replace(/\.nii(\.gz)?$/, '')));
  const missing = (requested ?? []).filter((name) => !present.has(name));
  if (missing.length > 0) throw new SegmentationError(`TotalSegmentator wrote no mask for ${missing.join(', ')}.`);
  const labels = new Uint8Array(volume.data.length);
  const names = new Map<number, string>();
  let nextExtra = classes.length + 1;
  for (const file of files) {
    signal.throwIfAborted();
    const name = file.replace(/\.nii(\.gz)?$/, '');
    const known = classes.indexOf(name);
    const label = known >= 0 ? known + 1 : nextExtra++;
    if (label > 255) throw new SegmentationError('TotalSegmentator wrote more than 255 structures.');
    const { values } = await readOutput(new Uint8Array(await readFile(path.join(folder, file))), volume, `The mask ${file}`);
    for (let i = 0; i < labels.length; i++) if (values[i]! !== 0) labels[i] = label;
    names.set(label, name);
  }
  return { labels, names };
}

/** One multi-label map (`--ml`, or the HTTP service's answer). */
async function assembleMultilabel(bytes: Uint8Array, volume: ImageVolume, task: TotalSegmentatorTask, what: string): Promise<Assembled> {
  const { values, bytes: inflated } = await readOutput(bytes, volume, what);
  const table = labelTableOf(inflated);
  const classes = classesOf(task);
  const labels = new Uint8Array(volume.data.length);
  const names = new Map<number, string>();
  for (let i = 0; i < labels.length; i++) {
    const value = Math.round(values[i]!);
    if (value <= 0) continue;
    if (value > 255) throw new SegmentationError(`${what} holds label ${value}; labels above 255 are not supported.`);
    labels[i] = value;
  }
  const seen = new Set(labels);
  for (const label of seen) {
    if (label === 0) continue;
    names.set(label, table.get(label) ?? classes[label - 1] ?? `label_${label}`);
  }
  // Requested classes absent from the image still get a row (0 mL), named from the table.
  for (const [label, name] of table) if (!names.has(label)) names.set(label, name);
  return { labels, names };
}

export async function writeInputNifti(volume: ImageVolume, file: string): Promise<void> {
  const nifti = writeNifti1({ dims: volume.dims, affine: volume.affine, data: volume.data, description: 'imaging platform: series volume' });
  await writeFile(file, await gzipAsync(nifti, { level: 1 }));
}

function validateRois(options: SegmentationOptions, task: TotalSegmentatorTask): string[] | undefined {
  const rois = options.roiSubset?.length ? options.roiSubset : undefined;
  const classes = classesOf(task);
  const unknown = rois?.filter((r) => !classes.includes(r));
  if (unknown?.length) throw new SegmentationError(`Unknown TotalSegmentator class${unknown.length > 1 ? 'es' : ''} for task ${task}: ${unknown.join(', ')}.`);
  return rois;
}

async function runCli(executable: string, volume: ImageVolume, options: SegmentationOptions, signal: AbortSignal): Promise<EngineOutput> {
  const task = taskFor(volume.modality);
  const rois = validateRois(options, task);
  const dir = path.join(scratchDir(), `segmentation-${randomUUID()}`);
  await mkdir(dir, { recursive: true });
  try {
    const input = path.join(dir, 'input.nii.gz');
    await writeInputNifti(volume, input);
    const output = path.join(dir, options.multilabel ? 'segmentations.nii.gz' : 'segmentations');
    const args = ['-i', input, '-o', output];
    if (task !== 'total') args.push('-ta', task);
    if (options.fast) args.push('--fast');
    if (options.multilabel) args.push('--ml');
    if (rois) args.push('--roi_subset', ...rois);
    const device = getEnv().segmentation.totalSegmentatorDevice;
    if (device) args.push('--device', device);
    const result = await runProcess(executable, args, signal);
    if (result.code !== 0) {
      const how = result.code === null ? `was killed by ${result.signal}` : `exited with code ${result.code}`;
      throw new SegmentationError(`TotalSegmentator ${how}${result.output.trim() ? `: ${tail(result.output)}` : ''}`);
    }
    let assembled: Assembled;
    if (options.multilabel) {
      let bytes: Uint8Array;
      try {
        bytes = new Uint8Array(await readFile(output));
      } catch {
        throw new SegmentationError('TotalSegmentator finished but wrote no multi-label file (segmentations.nii.gz).');
      }
      assembled = await assembleMultilabel(bytes, volume, task, 'The multi-label file');
    } else {
      assembled = await assembleMasks(output, volume, task, rois, signal);
    }
    return finish(assembled, rois, task, !!options.fast);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function runHttp(url: string, volume: ImageVolume, options: SegmentationOptions, signal: AbortSignal): Promise<EngineOutput> {
  const task = taskFor(volume.modality);
  const rois = validateRois(options, task);
  const { totalSegmentatorToken: token } = getEnv().segmentation;
  const nifti = writeNifti1({ dims: volume.dims, affine: volume.affine, data: volume.data });
  const body = await gzipAsync(nifti, { level: 1 });
  const target = new URL(url);
  target.searchParams.set('task', task);
  if (options.fast) target.searchParams.set('fast', 'true');
  if (rois) target.searchParams.set('roi_subset', rois.join(','));
  let response: Response;
  try {
    response = await fetch(target, {
      method: 'POST',
      body: new Uint8Array(body),
      headers: { 'Content-Type': 'application/gzip', Accept: 'application/gzip, application/octet-stream', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
      signal,
    });
  } catch (error) {
    if (signal.aborted) throw signal.reason;
    throw new SegmentationError(`The TotalSegmentator service at ${target.origin} cannot be reached: ${error instanceof Error ? (error.cause as Error | undefined)?.message ?? error.message : String(error)}`);
  }
  const bytes = new Uint8Array(await response.arrayBuffer());
  if (!response.ok) {
    throw new SegmentationError(`The TotalSegmentator service answered HTTP ${response.status}${bytes.length ? `: ${tail(new TextDecoder().decode(bytes.subarray(0, 4 * OUTPUT_TAIL)))}` : ''}`);
  }
  const assembled = await assembleMultilabel(bytes, volume, task, "The service's answer");
  return finish(assembled, rois, task, !!options.fast);
}

export const totalSegmentatorEngine: SegmentationEngine = {
  name: 'totalsegmentator',
  label: 'TotalSegmentator',
  async available() {
    return !!getEnv().segmentation.totalSegmentatorUrl || (await findExecutable()) !== null;
  },
  supports(modality) {
    return modality === 'CT' || modality === 'MR';
  },
  async run(volume, options, signal) {
    const url = getEnv().segmentation.totalSegmentatorUrl;
    if (url) return runHttp(url, volume, options, signal);
    const executable = await findExecutable();
    if (!executable) throw new SegmentationError('TotalSegmentator is not installed: put `TotalSegmentator` on PATH, or set TOTALSEGMENTATOR_PATH or TOTALSEGMENTATOR_URL.');
    return runCli(executable, volume, options, signal);
  },
};
