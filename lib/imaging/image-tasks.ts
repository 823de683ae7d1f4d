import { readFileSync } from 'node:fs';
import { extractMetadata, parseDicom } from '@/lib/dicom';
import { decodeFrame } from './decode';
import { decodeDicomFrame, renderDecoded } from './dicom-image';
import { encodeImage, type ImageFormat } from './encode';
import type { CachedFrame } from './frame-cache';
import { renderNiftiSlice } from './nifti-image';
import type { Window } from './render';
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
      /** Decodes frame 0 (processing proves every instance renders). */
      kind: 'check-dicom';
      path: string;
    };

export interface RenderResult {
  body: Uint8Array;
  contentType: string;
  window: Window | null;
  decoded?: CachedFrame;
}

export interface CheckResult {
  hasPixelData: boolean;
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

export async function runImageTask(task: ImageTask, options: { sharedMemory: boolean }): Promise<RenderResult | CheckResult> {
  switch (task.kind) {
    case 'render-dicom': {
      let decoded = task.cached;
      let fresh: CachedFrame | undefined;
      if (!decoded) {
        decoded = await decodeDicomFrame(new Uint8Array(readFileSync(task.path)), task.frame);
        if (task.returnDecoded) fresh = options.sharedMemory ? shared(decoded) : decoded;
      }
      const { image, window } = renderDecoded(decoded, { window: task.window, invert: task.invert });
      const encoded = await encodeImage(image, { format: task.format, size: task.size });
      return { body: encoded.body, contentType: encoded.contentType, window, ...(fresh ? { decoded: fresh } : {}) };
    }
    case 'render-nifti': {
      const bytes = new Uint8Array(readFileSync(task.path));
      const { image, window } = await renderNiftiSlice(bytes, { axis: task.axis, slice: task.slice, t: task.t, window: task.window, invert: task.invert });
      const encoded = await encodeImage(image, { format: task.format, size: task.size });
      return { body: encoded.body, contentType: encoded.contentType, window };
    }
    case 'check-dicom': {
      const dataset = parseDicom(new Uint8Array(readFileSync(task.path)), { stopAtPixelData: false });
      if (!extractMetadata(dataset).hasPixelData) return { hasPixelData: false };
      await decodeFrame(dataset, 0);
      return { hasPixelData: true };
    }
  }
}
