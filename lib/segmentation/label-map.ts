import { open, readFile } from 'node:fs/promises';
import sharp from 'sharp';
import { extractSlice, parseNiftiHeader, readNiftiVolume, slicePlan } from '@/lib/nifti';
import { writeNifti1 } from '@/lib/nifti/write';
import { objectPath, storeBytes } from '@/lib/storage';
import type { ImageVolume, Rgb } from './types';

/**
 * Label maps are stored as uncompressed NIfTI-1 (uint8, the source volume's grid and world
 * matrix): any tool opens them, and one slice is a single read at a known offset.
 */
export interface LabelMapRef {
  storageKey: string;
  dims: [number, number, number];
  source: 'dicom' | 'nifti';
  /** DICOM series: the SOP Instance UID of each slice (k). */
  sliceUids: string[] | null;
}

export async function storeLabelMap(volume: ImageVolume, labels: Uint8Array): Promise<LabelMapRef> {
  const bytes = writeNifti1({ dims: volume.dims, affine: volume.affine, data: labels, description: 'imaging platform: label map' });
  const stored = await storeBytes(bytes);
  return { storageKey: stored.key, dims: volume.dims, source: volume.source, sliceUids: volume.sliceUids };
}

export interface SliceLabels {
  width: number;
  height: number;
  /** 0-based slice index in the viewer's order. */
  index: number;
  count: number;
  labels: Uint8Array;
}

export class SliceNotFoundError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SliceNotFoundError';
  }
}

/**
 * The labels of one slice, laid out as the viewer draws that image: for a DICOM series the
 * frame's own rows and columns (slice chosen by SOP Instance UID when given, else by index);
 * for NIfTI the axial slice in display orientation, as the viewer's converted frames are.
 */
export async function readSliceLabels(ref: LabelMapRef, request: { slice?: number; sop?: string }): Promise<SliceLabels> {
  const file = objectPath(ref.storageKey);
  if (ref.source === 'dicom') {
    const [nx, ny, nz] = ref.dims;
    let index = request.slice;
    if (request.sop && ref.sliceUids) {
      const at = ref.sliceUids.indexOf(request.sop);
      if (at < 0) throw new SliceNotFoundError('That image is not a slice of this segmentation');
      index = at;
    }
    index ??= 0;
    if (!Number.isInteger(index) || index < 0 || index >= nz) throw new SliceNotFoundError(`Slice ${index} does not exist: the segmentation has ${nz} slice(s)`);
    const handle = await open(file, 'r');
    try {
      const head = new Uint8Array(352);
      await handle.read(head, 0, 352, 0);
      const { voxOffset } = parseNiftiHeader(head);
      const labels = new Uint8Array(nx * ny);
      await handle.read(labels, 0, labels.length, voxOffset + index * nx * ny);
      return { width: nx, height: ny, index, count: nz, labels };
    } finally {
      await handle.close();
    }
  }
  const volume = readNiftiVolume(new Uint8Array(await readFile(file)));
  const plan = slicePlan(volume, 'axial', 'display');
  const index = request.slice ?? 0;
  if (!Number.isInteger(index) || index < 0 || index >= plan.count) throw new SliceNotFoundError(`Slice ${index} does not exist: the segmentation has ${plan.count} slice(s)`);
  const slice = extractSlice(volume, { axis: 'axial', mode: 'display', index });
  return { width: slice.width, height: slice.height, index, count: plan.count, labels: Uint8Array.from(slice.stored as Uint8Array) };
}

/** An RGBA PNG of the labels: each shown label in its colour, opaque; everything else transparent. */
export async function renderOverlayPng(slice: SliceLabels, colors: ReadonlyMap<number, Rgb>): Promise<Buffer> {
  const rgba = new Uint8Array(slice.width * slice.height * 4);
  for (let p = 0; p < slice.labels.length; p++) {
    const color = colors.get(slice.labels[p]!);
    if (!color) continue;
    rgba[p * 4] = color[0];
    rgba[p * 4 + 1] = color[1];
    rgba[p * 4 + 2] = color[2];
    rgba[p * 4 + 3] = 255;
  }
  return sharp(Buffer.from(rgba.buffer), { raw: { width: slice.width, height: slice.height, channels: 4 } })
    .png({ compressionLevel: 6 })
    .toBuffer();
}
