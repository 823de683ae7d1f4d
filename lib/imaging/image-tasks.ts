import { readFileSync } from 'node:fs';
import { extractMetadata, parseDicom } from '@/lib/dicom';
import { decodeFrame } from './decode';
import { decodeDicomFrame, renderDecoded } from './dicom-image';
import { encodeImage, type ImageFormat } from './encode';
import type { CachedFrame } from './frame-cache';
import { renderNiftiSlice } from './nifti-image';
import type { Window } from './render';
import { allocateShared, ScratchArena } from './scratch';
import type { PixelArray } from './types';

/**
 * The CPU-heavy work behind images, as plain messages so that it can run in an image worker
 * (lib/imaging/image-pool.ts) or, with IMAGE_WORKERS=0, in the calling thread. Files are read
 * here from their storage path, so the bytes never cross threads.
 */
export type ImageTask =
  | {
      kind: 'render-dicom';
      path: string;
      frame: number;
      /** A decoded frame from the frame cache: skips reading and decoding. */
      cached?: CachedFrame;
      /** Send the decoded frame back (in shared memory) for the frame cache. */
      returnDecoded?: boolean;
      window: Window | null;
      invert: boolean;
      format: ImageFormat;
      size?: number;
    }
  | {
      kind: 'render-nifti';
      path: string;
      axis: 'axial' | 'coronal' | 'sagittal';
      slice?: number;
      t: number;
      window: Window | null;
      invert: boolean;
      format: ImageFormat;
      size?: number;
    }
  | {
      /** Decodes frame 0 (processing proves every instance renders), and renders its default view when asked. */
      kind: 'check-dicom';
      path: string;
      renderDefaultView?: boolean;
    };

export interface RenderResult {
  body: Uint8Array;
  contentType: string;
  window: Window | null;
  decoded?: CachedFrame;
}

export interface CheckResult {
  hasPixelData: boolean;
  /** Frame 0 at the file's window, full-size PNG: what GET /api/studies/{id}/image gives by default. */
  defaultView?: RenderResult;
}

let arenaOfThisThread: ScratchArena | undefined;
function workerArena(): ScratchArena {
  return (arenaOfThisThread ??= new ScratchArena());
}

/** A copy of the frame's samples in a SharedArrayBuffer: cached once, read by every worker without copying. */
function shared(decoded: CachedFrame): CachedFrame {
  const data = decoded.frame.data;
  if (data.buffer instanceof SharedArrayBuffer) return decoded;
  const Ctor = data.constructor as new (buffer: SharedArrayBuffer) => PixelArray;
  const copy = new Ctor(new SharedArrayBuffer(data.byteLength));
  copy.set(data);
  return { ...decoded, frame: { ...decoded.frame, data: copy } };
}

/**
 * `worker`: running in an image worker, one task at a time, with results copied out by
 * postMessage: file bytes, decoded frames and pixels then live in reused memory (ScratchArena)
 * and frames for the cache go to shared memory. Otherwise (IMAGE_WORKERS=0, tasks interleaving
 * in the calling thread) everything is allocated afresh.
 */
export async function runImageTask(task: ImageTask, options: { worker: boolean }): Promise<RenderResult | CheckResult> {
  const arena = options.worker ? workerArena() : null;
  arena?.reset();
  const read = (path: string) => (arena ? arena.readFile(path) : new Uint8Array(readFileSync(path)));
  switch (task.kind) {
    case 'render-dicom': {
      let decoded = task.cached;
      let fresh: CachedFrame | undefined;
      if (!decoded) {
        // A frame kept for the cache is decoded straight into shared memory (no copy afterwards).
        const allocate = arena ? (task.returnDecoded ? allocateShared : arena.allocate) : undefined;
        decoded = await decodeDicomFrame(read(task.path), task.frame, { allocate });
        if (task.returnDecoded) fresh = arena ? shared(decoded) : decoded;
      }
      const { image, window } = renderDecoded(decoded, { window: task.window, invert: task.invert }, { allocate: arena?.allocate });
      const encoded = await encodeImage(image, { format: task.format, size: task.size });
      return { body: encoded.body, contentType: encoded.contentType, window, ...(fresh ? { decoded: fresh } : {}) };
    }
    case 'render-nifti': {
      const bytes = read(task.path);
      const { image, window } = await renderNiftiSlice(bytes, { axis: task.axis, slice: task.slice, t: task.t, window: task.window, invert: task.invert });
      const encoded = await encodeImage(image, { format: task.format, size: task.size });
      return { body: encoded.body, contentType: encoded.contentType, window };
    }
    case 'check-dicom': {
      const bytes = read(task.path);
      const dataset = parseDicom(bytes, { stopAtPixelData: false });
      if (!extractMetadata(dataset).hasPixelData) return { hasPixelData: false };
      if (!task.renderDefaultView) {
        await decodeFrame(dataset, 0, { allocate: arena?.allocate });
        return { hasPixelData: true };
      }
      // Exactly what a render-dicom task with the default query does, so the bytes are the same.
      const decoded = await decodeDicomFrame(bytes, 0, { allocate: arena?.allocate });
      const { image, window } = renderDecoded(decoded, { window: null, invert: false }, { allocate: arena?.allocate });
      const encoded = await encodeImage(image, { format: 'png' });
      return { hasPixelData: true, defaultView: { body: encoded.body, contentType: encoded.contentType, window } };
    }
  }
}
