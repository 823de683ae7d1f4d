import { createHash } from 'node:crypto';
import { getDb } from '@/db';
import { findStudyInstanceAudited } from '@/db/queries/instances';
import { ApiError, notFound } from '@/lib/api/errors';
import { auditPatientAccessInStatement, type Actor } from '@/lib/audit';
import { isDicomParseError } from '@/lib/dicom';
import { NiftiParseError } from '@/lib/nifti';
import { objectPath } from '@/lib/storage';
import { isPixelDecodeError } from './decode';
import { isDefaultView, readDefaultView, RENDER_VERSION } from './default-view';
import { frameCache } from './frame-cache';
import { renderInWorker } from './image-pool';
import type { ImageQuery } from './image-query';
import type { RenderResult } from './image-tasks';
import { WINDOW_PRESETS, type PresetName } from './presets';
import type { Window } from './render';
import { WorkerCrashedError, WorkerTimeoutError } from './worker-pool';

export interface ImageResponse {
  status: 200 | 304;
  body: Buffer | null;
  headers: Record<string, string>;
}


/**
 * A stored file that does not decode is the file's fault, not the server's: 4xx with the
 * decoder's reason. Codecs unavailable on this server stay a 500.
 */
function unrenderable(error: unknown, format: string): unknown {
  const code = format === 'nifti' ? 'invalid_nifti' : 'invalid_dicom';
  if (isPixelDecodeError(error)) {
    switch (error.code) {
      case 'frame_out_of_range':
        return new ApiError(404, 'not_found', error.message);
      case 'unsupported_transfer_syntax':
      case 'unsupported_pixel_format':
        return new ApiError(415, 'unsupported_format', `This image cannot be rendered: ${error.message}`, {}, { reason: error.code });
      case 'frame_too_large':
        return new ApiError(413, 'payload_too_large', `This image is too large to render: ${error.message}`, {}, { reason: error.code });
      case 'decoder_unavailable':
        return error;
      default:
        return new ApiError(422, code, `The stored image cannot be decoded: ${error.message}`, {}, { reason: error.code });
    }
  }
  if (isDicomParseError(error) || error instanceof NiftiParseError) {
    return new ApiError(422, code, `The stored file cannot be read: ${error.message}`, {}, { reason: error.code });
  }
  if (error instanceof WorkerCrashedError || error instanceof WorkerTimeoutError) {
    console.error('[imaging] image worker failed on a stored file', error);
    return new ApiError(422, code, 'The stored image could not be rendered: its decoder failed on this file', {}, { reason: error.code });
  }
  return error;
}

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
  // The lookup writes its own audit row (success with the patient, or not found) in the same
  // statement: the busiest audited access costs one database round trip, not two.
  const target = await auditPatientAccessInStatement(
    actor,
    { action: 'study.image', resourceType: 'study', resourceId: studyId, studyId },
    async (audit) => (await findStudyInstanceAudited(await getDb(), studyId, { instanceId: query.instance, seriesId: query.series, index: query.index }, audit)) ?? null,
  );
  if (!target) throw notFound('No such image in this study');

  const etag = `"${createHash('sha256')
    .update(JSON.stringify([RENDER_VERSION, target.instance.sha256, target.instance.id, query]))
    .digest('base64url')
    .slice(0, 32)}"`;
  const cacheHeaders = { ETag: etag, 'Cache-Control': 'private, max-age=3600', Vary: 'Cookie, Authorization' };
  if (ifNoneMatch && ifNoneMatch.split(',').some((t) => t.trim() === etag)) return { status: 304, body: null, headers: cacheHeaders };

  const window = requestedWindow(query);
  const path = objectPath(target.instance.storageKey);
  const common = { path, window, invert: query.invert, format: query.format, size: query.size };
  let result: RenderResult | null = null;
  let rendition: 'pre-rendered' | 'on-demand' = 'on-demand';
  try {
    if (target.instance.format === 'nifti') {
      result = await renderInWorker({ kind: 'render-nifti', ...common, axis: query.axis, slice: query.slice, t: query.t });
    } else {
      if (query.frame >= target.instance.frames) throw new ApiError(404, 'not_found', `This instance has ${target.instance.frames} frame(s)`);
      // Rendered during processing (the same code, so the same bytes as rendering it now).
      if (isDefaultView(query)) result = await readDefaultView(target.instance.storageKey);
      if (result) {
        rendition = 'pre-rendered';
      } else {
        // Storage keys name immutable objects, so a decoded frame never goes stale.
        const key = `${target.instance.storageKey}:${query.frame}`;
        const cached = frameCache().get(key);
        result = await renderInWorker({ kind: 'render-dicom', ...common, frame: query.frame, cached, returnDecoded: !cached && frameCache().admits(key) });
        if (result.decoded) frameCache().set(key, result.decoded);
      }
    }
  } catch (error) {
    throw unrenderable(error, target.instance.format);
  }
  const usedWindow = result.window;
  return {
    status: 200,
    body: Buffer.from(result.body.buffer, result.body.byteOffset, result.body.byteLength),
    headers: {
      ...cacheHeaders,
      'Content-Type': result.contentType,
      'X-Image-Instance': target.instance.id,
      'X-Image-Series': target.seriesId,
      'X-Image-Rendition': rendition,
      ...(usedWindow ? { 'X-Window-Center': String(usedWindow.center), 'X-Window-Width': String(usedWindow.width) } : {}),
    },
  };
}
