import { randomUUID } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { z } from 'zod';
import { getDb } from '@/db';
import { listStudyInstances } from '@/db/queries/instances';
import { findSegmentation, insertSegmentation, listSegmentationsByStudy } from '@/db/queries/segmentations';
import { findStudy } from '@/db/queries/studies';
import type { AnalysisResult, ProcessingJob } from '@/db/schema';
import { ApiError, badRequest, notFound } from '@/lib/api/errors';
import { auditPatientAccess, type Actor } from '@/lib/audit';
import { getEnv } from '@/lib/env';
import { enqueueJob, getJob } from '@/lib/jobs';
import { objectPath, readObject } from '@/lib/storage';
import { getEngine, type SegmentationRequest } from './engines';
import { SEGMENT_SERIES, type SegmentationContent } from './jobs';
import { readSliceLabels, renderOverlayPng, SliceNotFoundError } from './label-map';
import type { EngineName, Rgb, SegmentationOptions } from './types';

/** Who may start a segmentation (reading results is open to every role, like the images). */
export const SEGMENTATION_ROLES = ['admin', 'radiologist', 'clinician'] as const;

export type SegmentationStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';

export interface SegmentationView {
  id: string;
  studyId: string;
  seriesId: string | null;
  engine: EngineName;
  model: string | null;
  options: SegmentationOptions;
  status: SegmentationStatus;
  progress: number;
  error: string | null;
  jobId: string | null;
  structures: { label: number; name: string; color: Rgb; description?: string; voxels: number; volumeMl: number }[];
  /** mm along columns, rows and slices. */
  spacing: [number, number, number] | null;
  spacingKnown: boolean | null;
  warnings: string[];
  /** [columns, rows, slices] of the label map. */
  dims: [number, number, number] | null;
  createdAt: Date;
  updatedAt: Date;
  durationMs: number | null;
  overlayUrl: string | null;
  labelMapUrl: string | null;
}

function statusOf(result: AnalysisResult, job: ProcessingJob | null | undefined): SegmentationStatus {
  if (job && (job.status === 'queued' || job.status === 'running')) return job.status;
  if (result.status === 'final') return 'succeeded';
  if (result.status === 'failed') return 'failed';
  if (job?.status === 'failed' || job?.status === 'cancelled') return job.status;
  return 'queued';
}

export function toView(result: AnalysisResult, job: ProcessingJob | null | undefined): SegmentationView {
  const content = result.content as SegmentationContent;
  const status = statusOf(result, job);
  const done = status === 'succeeded' && !!content.labelMap;
  return {
    id: result.id,
    studyId: result.studyId,
    seriesId: result.seriesId,
    engine: content.engine,
    model: result.model,
    options: content.options ?? {},
    status,
    progress: status === 'succeeded' ? 100 : (job?.progress ?? 0),
    error: status === 'failed' || status === 'cancelled' ? (content.error ?? job?.error ?? 'The segmentation failed') : null,
    jobId: content.jobId ?? null,
    structures: content.structures ?? [],
    spacing: content.spacing ?? null,
    spacingKnown: content.spacingKnown ?? null,
    warnings: content.warnings ?? [],
    dims: content.labelMap?.dims ?? null,
    createdAt: result.createdAt,
    updatedAt: result.updatedAt,
    durationMs: result.durationMs,
    overlayUrl: done ? `/api/segmentations/${result.id}/overlay` : null,
    labelMapUrl: done ? `/api/segmentations/${result.id}/labelmap` : null,
  };
}

/** The same request while the first is still queued or running joins it instead of starting another. */
function dedupeKey(request: SegmentationRequest): string {
  const options = Object.fromEntries(Object.entries(request.options).sort(([a], [b]) => a.localeCompare(b)));
  return `${request.seriesId}|${request.engine}|${JSON.stringify(options)}`;
}

/**
 * Starts segmenting a series of a study as a durable job (`segment-series`) and records the
 * result row at once (status queued). Audited as `segmentation.request`.
 */
export async function requestSegmentation(actor: Actor, studyId: string, request: SegmentationRequest): Promise<{ segmentation: SegmentationView; created: boolean } | null> {
  return auditPatientAccess(
    actor,
    { action: 'segmentation.request', resourceType: 'study', resourceId: studyId, studyId, describe: (r) => ({ patientId: r.patientId }) },
    async () => {
      const db = await getDb();
      const study = await findStudy(db, studyId);
      if (!study) return null;
      const rows = (await listStudyInstances(db, studyId)).filter((r) => r.seriesId === request.seriesId);
      if (rows.length === 0) throw notFound('No such series in this study, or it has no images');
      const engine = getEngine(request.engine);
      if (!(await engine.available())) {
        throw new ApiError(503, 'not_configured', `${engine.label} is not available on this server: install it on PATH, or set TOTALSEGMENTATOR_PATH or TOTALSEGMENTATOR_URL.`);
      }
      const modality = rows[0]!.modality;
      if (!engine.supports(modality)) throw badRequest(`${engine.label} segments CT and MR; this series is ${modality ?? 'of unknown modality'}.`);
      const analysisId = randomUUID();
      const { timeoutSeconds } = getEnv().segmentation;
      const outcome = await db.transaction(async (tx) => {
        const job = await enqueueJob(SEGMENT_SERIES, { analysisId }, { db: tx, studyId, createdBy: actor.userId ?? null, dedupeKey: dedupeKey(request), timeoutSeconds, maxAttempts: 2 });
        const joined = (job.payload as { analysisId?: string }).analysisId;
        if (joined !== analysisId) {
          const existing = joined ? await findSegmentation(tx, joined) : undefined;
          if (existing) return { segmentation: toView(existing.result, job), created: false };
        }
        const content: SegmentationContent = { engine: request.engine, options: request.options, jobId: job.id };
        const row = await insertSegmentation(tx, { id: analysisId, status: 'pending', studyId, seriesId: request.seriesId, model: null, createdBy: actor.userId ?? null, content });
        return { segmentation: toView(row, job), created: true };
      });
      return { ...outcome, patientId: study.patientId };
    },
  );
}

/** Every segmentation of a study, newest first; null when the study does not exist. Audited as `segmentation.list`. */
export async function listSegmentations(actor: Actor, studyId: string): Promise<SegmentationView[] | null> {
  const found = await auditPatientAccess(
    actor,
    { action: 'segmentation.list', resourceType: 'study', resourceId: studyId, studyId, describe: (r) => ({ patientId: r.patientId }) },
    async () => {
      const db = await getDb();
      const study = await findStudy(db, studyId);
      if (!study) return null;
      const rows = await listSegmentationsByStudy(db, studyId);
      return { patientId: study.patientId, items: rows.map(({ result, job }) => toView(result, job)) };
    },
  );
  return found?.items ?? null;
}

async function loadSegmentation(actor: Actor, id: string, action: string) {
  return auditPatientAccess(
    actor,
    { action, resourceType: 'segmentation', resourceId: id, describe: (r) => ({ patientId: r.patientId, studyId: r.result.studyId }) },
    async () => {
      const found = await findSegmentation(await getDb(), id);
      if (!found) return null;
      const content = found.result.content as SegmentationContent;
      const job = content.jobId ? await getJob(content.jobId) : undefined;
      return { ...found, content, view: toView(found.result, job) };
    },
  );
}

/** One segmentation; audited as `segmentation.read`. */
export async function getSegmentation(actor: Actor, id: string): Promise<SegmentationView | null> {
  return (await loadSegmentation(actor, id, 'segmentation.read'))?.view ?? null;
}

export const overlayQuerySchema = z
  .object({
    slice: z.coerce.number().int().min(0).max(100_000).optional(),
    /** SOP Instance UID of the image under view (DICOM series of single-frame images). */
    sop: z
      .string()
      .trim()
      .regex(/^[0-9.]{1,64}$/, 'must be a DICOM UID')
      .optional(),
    /** Only these labels (comma-separated); default all. */
    labels: z
      .string()
      .regex(/^\d{1,3}(,\d{1,3})*$/, 'must be label numbers separated by commas')
      .transform((v) => v.split(',').map(Number))
      .optional(),
  })
  .refine((q) => q.slice !== undefined || q.sop !== undefined, { message: 'give slice (0-based) or sop', path: ['slice'] });

export type OverlayQuery = z.output<typeof overlayQuerySchema>;

function finished(loaded: NonNullable<Awaited<ReturnType<typeof loadSegmentation>>>) {
  if (loaded.view.status !== 'succeeded' || !loaded.content.labelMap) throw new ApiError(409, 'conflict', `The segmentation has not finished (status ${loaded.view.status})`);
  return loaded.content.labelMap;
}

/**
 * One slice of the label map as an RGBA PNG the size of the image: structures in their colour,
 * opaque, the rest transparent (the viewer sets the opacity). Audited as `segmentation.overlay`.
 */
export async function renderOverlay(actor: Actor, id: string, query: OverlayQuery): Promise<{ body: Buffer; headers: Record<string, string> }> {
  const loaded = await loadSegmentation(actor, id, 'segmentation.overlay');
  if (!loaded) throw notFound('No such segmentation');
  const labelMap = finished(loaded);
  let slice;
  try {
    slice = await readSliceLabels(labelMap, { slice: query.slice, sop: query.sop });
  } catch (error) {
    if (error instanceof SliceNotFoundError) throw notFound(error.message);
    throw error;
  }
  const wanted = query.labels ? new Set(query.labels) : null;
  const colors = new Map<number, Rgb>(loaded.view.structures.filter((s) => !wanted || wanted.has(s.label)).map((s) => [s.label, s.color]));
  const body = await renderOverlayPng(slice, colors);
  return {
    body,
    headers: {
      'Content-Type': 'image/png',
      // A finished label map never changes.
      'Cache-Control': 'private, max-age=3600',
      Vary: 'Cookie, Authorization',
      'X-Slice-Index': String(slice.index),
      'X-Slice-Count': String(slice.count),
      'X-Overlay-Width': String(slice.width),
      'X-Overlay-Height': String(slice.height),
    },
  };
}

/** The label map itself (NIfTI-1, uint8), for other tools. Audited as `segmentation.download`. */
export async function labelMapFile(actor: Actor, id: string): Promise<{ stream: ReturnType<typeof readObject>; size: number; filename: string }> {
  const loaded = await loadSegmentation(actor, id, 'segmentation.download');
  if (!loaded) throw notFound('No such segmentation');
  const labelMap = finished(loaded);
  const { size } = await stat(objectPath(labelMap.storageKey));
  return { stream: readObject(labelMap.storageKey), size, filename: `segmentation-${id}.nii` };
}
