/**
 * The pixels a model sees: the slice on screen, rendered by the platform's image service at the
 * viewer's window (PNG, re-encoded from decoded pixels, so no DICOM header travels with it), and
 * optionally its neighbours.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { getDb } from '@/db';
import { findStudyInstance, listStudyInstances } from '@/db/queries/instances';
import { notFound } from '@/lib/api/errors';
import type { Actor } from '@/lib/audit';
import { imageQuerySchema } from '@/lib/imaging/image-query';
import { renderStudyImage } from '@/lib/imaging/service';
import { slicePosition } from '@/lib/studies/viewer';

/** Longest side sent to the model: enough detail for a description, far less than a PACS screen. */
export const MODEL_IMAGE_SIZE = 768;

export const imageSelectionShape = {
  seriesId: z.uuid().optional(),
  /** The file on screen; default: the first image of the series (or of the study). */
  instanceId: z.uuid().optional(),
  /** DICOM: frame within the instance (0-based). */
  frame: z.number().int().min(0).max(100_000).default(0),
  /** NIfTI: axial slice (0-based); 4D: time point. */
  slice: z.number().int().min(0).max(100_000).optional(),
  t: z.number().int().min(0).max(100_000).default(0),
  /** The viewer's window; default the file's own. */
  window: z.object({ center: z.number().min(-1e7).max(1e7), width: z.number().positive().max(1e7) }).optional(),
  invert: z.boolean().default(false),
  /** Neighbouring slices (each side) sent as well, for context. */
  neighbours: z.number().int().min(0).max(2).default(0),
};

export const imageSelectionSchema = z.object(imageSelectionShape);
export type ImageSelection = z.output<typeof imageSelectionSchema>;

export interface ImageRef {
  role: 'current' | 'neighbour';
  /** Slice offset from the current image (0 for it). */
  offset: number;
  seriesId: string;
  instanceId: string;
  frame: number | null;
  slice: number | null;
  t: number | null;
  window: { center: number; width: number } | null;
  invert: boolean;
  mimeType: string;
  bytes: number;
  sha256: string;
}

export interface RenderedImage {
  ref: ImageRef;
  data: Buffer;
}

interface Target {
  instanceId: string;
  frame: number | null;
  slice: number | null;
}

async function render(actor: Actor, studyId: string, seriesId: string, target: Target, selection: ImageSelection, role: ImageRef['role'], offset: number): Promise<RenderedImage> {
  const query = imageQuerySchema.parse({
    series: seriesId,
    instance: target.instanceId,
    frame: target.frame ?? 0,
    ...(target.slice !== null ? { slice: target.slice, t: selection.t } : {}),
    ...(selection.window ? { window: selection.window.width, level: selection.window.center } : {}),
    invert: selection.invert ? 'true' : 'false',
    size: MODEL_IMAGE_SIZE,
    format: 'png',
  });
  const image = await renderStudyImage(actor, studyId, query, null);
  if (!image.body) throw new Error('image service answered without a body');
  const center = Number(image.headers['X-Window-Center']);
  const width = Number(image.headers['X-Window-Width']);
  return {
    data: image.body,
    ref: {
      role,
      offset,
      seriesId,
      instanceId: target.instanceId,
      frame: target.slice === null ? (target.frame ?? 0) : null,
      slice: target.slice,
      t: target.slice === null ? null : selection.t,
      window: Number.isFinite(center) && Number.isFinite(width) ? { center, width } : null,
      invert: selection.invert,
      mimeType: 'image/png',
      bytes: image.body.length,
      sha256: createHash('sha256').update(image.body).digest('hex'),
    },
  };
}

/** Renders the selected image and its neighbours (those that exist), current first. */
export async function renderForModel(actor: Actor, studyId: string, selection: ImageSelection): Promise<RenderedImage[]> {
  const db = await getDb();
  const located = await findStudyInstance(db, studyId, { instanceId: selection.instanceId, seriesId: selection.seriesId });
  if (!located) throw notFound('No such image in this study');
  const { instance, seriesId } = located;
  const isNifti = instance.format === 'nifti';
  const current: Target = { instanceId: instance.id, frame: isNifti ? null : selection.frame, slice: isNifti ? (selection.slice ?? null) : null };
  const out = [await render(actor, studyId, seriesId, current, selection, 'current', 0)];
  if (selection.neighbours === 0) return out;

  const offsets = Array.from({ length: selection.neighbours }, (_, i) => i + 1).flatMap((d) => [-d, d]);
  let neighbours: { offset: number; target: Target }[];
  if (isNifti) {
    const base = selection.slice ?? 0;
    neighbours = selection.slice === undefined ? [] : offsets.map((d) => ({ offset: d, target: { instanceId: instance.id, frame: null, slice: base + d } }));
  } else if (instance.frames > 1) {
    neighbours = offsets.map((d) => ({ offset: d, target: { instanceId: instance.id, frame: selection.frame + d, slice: null } }));
  } else {
    // Single-frame series: neighbours in the viewer's spatial order.
    const rows = (await listStudyInstances(db, studyId)).filter((r) => r.seriesId === seriesId);
    const ordered = rows
      .map((r) => ({ id: r.instance.id, number: r.instance.instanceNumber ?? 0, pos: slicePosition(r.instance.metadata.imagePositionPatient, r.instance.metadata.imageOrientationPatient) }))
      .sort((a, b) => (a.pos != null && b.pos != null && a.pos !== b.pos ? a.pos - b.pos : a.number - b.number));
    const at = ordered.findIndex((r) => r.id === instance.id);
    neighbours = offsets.map((d) => ({ offset: d, id: ordered[at + d]?.id })).filter((n): n is { offset: number; id: string } => !!n.id).map((n) => ({ offset: n.offset, target: { instanceId: n.id, frame: 0, slice: null } }));
  }
  for (const n of neighbours.sort((a, b) => a.offset - b.offset)) {
    if ((n.target.frame ?? 0) < 0 || (n.target.slice ?? 0) < 0) continue;
    if (n.target.frame !== null && n.target.frame >= instance.frames && n.target.instanceId === instance.id) continue;
    try {
      out.push(await render(actor, studyId, seriesId, n.target, selection, 'neighbour', n.offset));
    } catch (error) {
      // Past the end of a NIfTI volume: there is no such neighbour.
      if ((error as { status?: number }).status === 404) continue;
      throw error;
    }
  }
  return out;
}
