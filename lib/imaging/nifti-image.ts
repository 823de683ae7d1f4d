import { gunzipSync } from 'node:zlib';
import { ApiError } from '@/lib/api/errors';
import { getEnv } from '@/lib/env';
import { extractSlice, parseNiftiHeader, readNiftiVolume, robustWindow, sliceCounts } from '@/lib/nifti';
import { renderValues, type RenderedImage, type Window } from './render';

export interface NiftiRenderRequest {
  axis: 'axial' | 'coronal' | 'sagittal';
  /** Voxel index along the axis; the middle slice when absent. */
  slice?: number;
  t?: number;
  window?: Window | null;
  invert?: boolean;
}

function inflate(bytes: Uint8Array): Uint8Array {
  if (bytes[0] !== 0x1f || bytes[1] !== 0x8b) return bytes;
  return gunzipSync(bytes, { maxOutputLength: getEnv().upload.maxInflatedBytes });
}

/**
 * One slice of a NIfTI volume in display orientation (radiological: patient left on image
 * right), windowed by the request or by the slice's 0.5–99.5th percentiles.
 */
export async function renderNiftiSlice(fileBytes: Uint8Array, request: NiftiRenderRequest): Promise<{ image: RenderedImage; window: Window; slices: number }> {
  const bytes = inflate(fileBytes);
  const header = parseNiftiHeader(bytes);
  if ((request.t ?? 0) >= header.volumeCount) throw new ApiError(404, 'not_found', `This volume has ${header.volumeCount} time point(s)`);
  const volume = readNiftiVolume(bytes, { volume: request.t ?? 0 });
  const counts = sliceCounts(volume, 'display');
  const slices = counts[request.axis];
  if (request.slice !== undefined && request.slice >= slices) {
    throw new ApiError(404, 'not_found', `The ${request.axis} axis has ${slices} slices`);
  }
  const slice = extractSlice(volume, { axis: request.axis, mode: 'display', index: request.slice, t: request.t ?? 0 });
  const window = request.window ?? (({ center, width }) => ({ center, width }))(robustWindow(slice.data));
  return { image: renderValues(slice.data, slice.width, slice.height, window, request.invert), window, slices };
}
