import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { getDb } from '@/db';
import { findStudyInstance } from '@/db/queries/instances';
import { ApiError, notFound } from '@/lib/api/errors';
import { auditPatientAccess, type Actor } from '@/lib/audit';
import { objectPath } from '@/lib/storage';
import { decodeDicomFrame, renderDecoded } from './dicom-image';
import { frameCache } from './frame-cache';
import { encodeImage } from './encode';
import type { ImageQuery } from './image-query';
import { renderNiftiSlice } from './nifti-image';
import { WINDOW_PRESETS, type PresetName } from './presets';
import type { RenderedImage, Window } from './render';

export interface ImageResponse {
  status: 200 | 304;
  body: Buffer | null;
  headers: Record<string, string>;
}

// Renderings change only when the stored file or this code's output does; bump on rendering changes.
const RENDER_VERSION = '1';

function requestedWindow(query: ImageQuery): Window | null {
  if (query.preset) {
    const preset = WINDOW_PRESETS[query.preset as PresetName];
    return { center: preset.center, width: preset.width };
  }
  if (query.window !== undefined && query.level !== undefined) return { center: query.level, width: query.window };
  return null;
}

/**
 * Renders an image of a study for display or for a model: any series/instance/frame (DICOM) or
 * slice along any axis (NIfTI), windowed, optionally inverted and resized. Every call is an
 * audited access to patient data; unchanged renderings answer 304 to a matching ETag.
 */
export async function renderStudyImage(actor: Actor, studyId: string, query: ImageQuery, ifNoneMatch: string | null): Promise<ImageResponse> {
  const target = await auditPatientAccess(
    actor,
    {
      action: 'study.image',
      resourceType: 'study',
      resourceId: studyId,
      studyId,
      describe: (t) => ({ patientId: t.patientId }),
    },
    async () => (await findStudyInstance(await getDb(), studyId, { instanceId: query.instance, seriesId: query.series, index: query.index })) ?? null,
  );
  if (!target) throw notFound('No such image in this study');

  const etag = `"${createHash('sha256')
    .update(JSON.stringify([RENDER_VERSION, target.instance.sha256, target.instance.id, query]))
    .digest('base64url')
    .slice(0, 32)}"`;
  const cacheHeaders = { ETag: etag, 'Cache-Control': 'private, max-age=3600', Vary: 'Cookie, Authorization' };
  if (ifNoneMatch && ifNoneMatch.split(',').some((t) => t.trim() === etag)) return { status: 304, body: null, headers: cacheHeaders };

  const window = requestedWindow(query);
  let image: RenderedImage;
  let usedWindow: Window | null;
  if (target.instance.format === 'nifti') {
    const bytes = new Uint8Array(await readFile(objectPath(target.instance.storageKey)));
    ({ image, window: usedWindow } = await renderNiftiSlice(bytes, { axis: query.axis, slice: query.slice, t: query.t, window, invert: query.invert }));
  } else {
    if (query.frame >= target.instance.frames) throw new ApiError(404, 'not_found', `This instance has ${target.instance.frames} frame(s)`);
    // Storage keys name immutable objects, so a decoded frame never goes stale.
    const key = `${target.instance.storageKey}:${query.frame}`;
    let decoded = frameCache().get(key);
    if (!decoded) {
      decoded = await decodeDicomFrame(new Uint8Array(await readFile(objectPath(target.instance.storageKey))), query.frame);
      frameCache().set(key, decoded);
    }
    ({ image, window: usedWindow } = renderDecoded(decoded, { window, invert: query.invert }));
  }
  const encoded = await encodeImage(image, { format: query.format, size: query.size });
  return {
    status: 200,
    body: encoded.body,
    headers: {
      ...cacheHeaders,
      'Content-Type': encoded.contentType,
      'X-Image-Instance': target.instance.id,
      'X-Image-Series': target.seriesId,
      ...(usedWindow ? { 'X-Window-Center': String(usedWindow.center), 'X-Window-Width': String(usedWindow.width) } : {}),
    },
  };
}
