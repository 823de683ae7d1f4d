import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { getDb } from '@/db';
import { listStudyInstances } from '@/db/queries/instances';
import { findSegmentation, updateSegmentation } from '@/db/queries/segmentations';
import { advanceStudyStatus } from '@/db/queries/studies';
import { getEnv } from '@/lib/env';
import { registerJobHandler, type JobContext, type JobRecord } from '@/lib/jobs';
import { objectPath } from '@/lib/storage';
import { getEngine } from './engines';
import { storeLabelMap, type LabelMapRef } from './label-map';
import { measureStructures, voxelVolumeMl } from './structures';
import { SegmentationError, type EngineName, type ImageVolume, type SegmentationOptions, type Structure } from './types';
import { volumeFromDicom, volumeFromNifti } from './volume';

const gunzipAsync = promisify(gunzip);

export const SEGMENT_SERIES = 'segment-series';

/** What a segmentation row keeps in `analysis_results.content`. */
export interface SegmentationContent {
  engine: EngineName;
  options: SegmentationOptions;
  jobId: string | null;
  labelMap?: LabelMapRef;
  structures?: Structure[];
  spacing?: [number, number, number];
  spacingKnown?: boolean;
  voxelMl?: number;
  warnings?: string[];
  error?: string;
  [key: string]: unknown;
}

/** The volume of one series: its DICOM images, or its NIfTI file. */
export async function loadSeriesVolume(studyId: string, seriesId: string, signal: AbortSignal): Promise<ImageVolume> {
  const db = await getDb();
  const rows = (await listStudyInstances(db, studyId)).filter((r) => r.seriesId === seriesId);
  if (rows.length === 0) throw new SegmentationError('The series has no images.');
  const { maxVoxels } = getEnv().segmentation;
  const nifti = rows.filter((r) => r.instance.format === 'nifti');
  if (nifti.length > 0) {
    if (rows.length > 1) throw new SegmentationError('The series holds several NIfTI files; segmentation needs one volume.');
    const raw = new Uint8Array(await readFile(objectPath(nifti[0]!.instance.storageKey)));
    const bytes = raw[0] === 0x1f && raw[1] === 0x8b ? new Uint8Array(await gunzipAsync(raw, { maxOutputLength: getEnv().upload.maxInflatedBytes })) : raw;
    return volumeFromNifti(bytes, rows[0]!.modality, { maxVoxels, signal });
  }
  return volumeFromDicom(
    rows.map((r) => ({ read: async () => new Uint8Array(await readFile(objectPath(r.instance.storageKey))) })),
    { maxVoxels, signal },
  );
}

function message(error: unknown): string {
  if (error instanceof SegmentationError) return error.message;
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'JobTimeoutError')) return error.message;
  if (error instanceof Error && error.name === 'PixelDecodeError') return `An image of the series cannot be decoded: ${error.message}`;
  if (error instanceof Error && error.name === 'NiftiParseError') return `The NIfTI file cannot be read: ${error.message}`;
  return error instanceof Error ? error.message : String(error);
}

/**
 * Runs one segmentation: builds the series volume, runs the engine, stores the label map and the
 * per-structure volumes, and moves the study to "analysed". Safe to run again after a crash: it
 * only ever overwrites its own row.
 */
export async function runSegmentation(analysisId: string, job: Pick<JobRecord, 'id' | 'attempts' | 'maxAttempts'>, ctx: Pick<JobContext, 'signal' | 'setProgress'>) {
  const db = await getDb();
  const found = await findSegmentation(db, analysisId);
  // The study was deleted meanwhile (rows cascade): nothing left to do.
  if (!found) return { analysisId, skipped: 'the segmentation no longer exists' };
  const row = found.result;
  const content = row.content as SegmentationContent;
  if (row.status === 'final') return { analysisId, structures: content.structures?.length ?? 0 };
  const started = Date.now();
  try {
    await updateSegmentation(db, analysisId, { status: 'pending', content: { ...content, error: undefined, jobId: job.id } });
    const volume = await loadSeriesVolume(row.studyId, row.seriesId!, ctx.signal);
    await ctx.setProgress(20);
    const engine = getEngine(content.engine);
    if (!engine.supports(volume.modality)) throw new SegmentationError(`${engine.label} does not segment ${volume.modality ?? 'images without a modality'}.`);
    const output = await engine.run(volume, content.options ?? {}, ctx.signal);
    await ctx.setProgress(80);
    const labelMap = await storeLabelMap(volume, output.labels);
    const voxelMl = voxelVolumeMl(volume);
    const structures = measureStructures(output.labels, output.structures, voxelMl);
    ctx.signal.throwIfAborted();
    await updateSegmentation(db, analysisId, {
      status: 'final',
      model: output.model,
      durationMs: Date.now() - started,
      content: { ...content, jobId: job.id, labelMap, structures, spacing: volume.spacing, spacingKnown: volume.spacingKnown, voxelMl, warnings: volume.warnings, error: undefined },
    });
    await advanceStudyStatus(db, row.studyId, 'analysed');
    return { analysisId, model: output.model, structures: structures.map((s) => ({ name: s.name, volumeMl: s.volumeMl })) };
  } catch (error) {
    const text = message(error);
    // The row says "failed" once no attempt is left; before that the job's retry is still coming.
    if (job.attempts >= job.maxAttempts) {
      await updateSegmentation(db, analysisId, { status: 'failed', durationMs: Date.now() - started, content: { ...content, jobId: job.id, error: text } }).catch(() => {});
    }
    throw error instanceof SegmentationError ? error : new SegmentationError(text);
  }
}

export function registerSegmentationJobs(): void {
  registerJobHandler(SEGMENT_SERIES, async (job, ctx) => {
    const analysisId = (job.payload as { analysisId?: string }).analysisId;
    if (!analysisId) throw new Error('segment-series job without an analysisId');
    return runSegmentation(analysisId, job, ctx);
  });
}
