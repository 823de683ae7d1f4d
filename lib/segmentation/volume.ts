import { extractMetadata, getItems, getNumbers, makeTag, parseDicom, Tags, type DicomDataset, type DicomMetadata } from '@/lib/dicom';
import { decodeFrame } from '@/lib/imaging/decode';
import { readNiftiVolume, scaledReader, worldMatrix, type Matrix4 } from '@/lib/nifti';
import { slicePosition } from '@/lib/studies/viewer';
import { SegmentationError, type ImageVolume, type VoxelData } from './types';

const SPACING_BETWEEN_SLICES = makeTag(0x0018, 0x0088);

type Vec3 = [number, number, number];

const cross = (a: Vec3, b: Vec3): Vec3 => [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];

/** One file of a DICOM series; read lazily so that only one file is in memory at a time. */
export interface DicomSource {
  read(): Promise<Uint8Array>;
}

export interface VolumeLimits {
  maxVoxels: number;
  signal?: AbortSignal;
}

interface SliceHeader {
  meta: DicomMetadata;
  frames: number;
  /** Position along the slice normal (mm), when the file has a position and orientation. */
  position: number | null;
  spacingBetweenSlices: number | null;
}

function checkVoxels(count: number, limits: VolumeLimits) {
  if (count > limits.maxVoxels) {
    throw new SegmentationError(`The volume has ${count.toLocaleString('en')} voxels; this server segments at most ${limits.maxVoxels.toLocaleString('en')} (SEGMENTATION_MAX_VOXELS).`);
  }
}

/** Int16 when every value is an integer that fits (CT in HU always does): half the memory of Float32. */
function allocate(count: number, integral: boolean): VoxelData {
  return integral ? new Int16Array(count) : new Float32Array(count);
}

function fitsInt16(meta: DicomMetadata): boolean {
  const slope = meta.rescaleSlope ?? 1;
  const intercept = meta.rescaleIntercept ?? 0;
  if (!Number.isInteger(slope) || !Number.isInteger(intercept)) return false;
  const bits = meta.bitsStored ?? meta.bitsAllocated ?? 16;
  if (bits > 16) return false;
  const signed = meta.pixelRepresentation === 1;
  const lo = signed ? -(2 ** (bits - 1)) : 0;
  const hi = signed ? 2 ** (bits - 1) - 1 : 2 ** bits - 1;
  const ends = [lo * slope + intercept, hi * slope + intercept];
  return Math.min(...ends) >= -32768 && Math.max(...ends) <= 32767;
}

/** Per-frame Image Position (Patient) of an enhanced multi-frame object, when every frame has one. */
function framePositions(dataset: DicomDataset, frames: number): Vec3[] | null {
  const groups = getItems(dataset, Tags.PerFrameFunctionalGroupsSequence);
  if (!groups || groups.length !== frames) return null;
  const positions: Vec3[] = [];
  for (const group of groups) {
    const plane = getItems(group, Tags.PlanePositionSequence)?.[0];
    const p = plane && getNumbers(plane, Tags.ImagePositionPatient);
    if (!p || p.length !== 3) return null;
    positions.push(p as Vec3);
  }
  return positions;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** DICOM patient space is LPS; NIfTI's (and ImageVolume's) is RAS. */
function lpsToRas(m: Matrix4): Matrix4 {
  return [m[0].map((v) => -v) as Matrix4[0], m[1].map((v) => -v) as Matrix4[1], m[2], m[3]];
}

/**
 * Builds the 3D volume of a DICOM series: either single-frame images (sorted by position along
 * the slice normal, as the viewer shows them) or one multi-frame image (frames in file order).
 * Spacing comes from Pixel Spacing and the distance between slice positions (Spacing Between
 * Slices or Slice Thickness when there is only one slice or no position); values are rescaled
 * (Rescale Slope/Intercept, so CT is in HU).
 */
export async function volumeFromDicom(sources: readonly DicomSource[], limits: VolumeLimits): Promise<ImageVolume> {
  if (sources.length === 0) throw new SegmentationError('The series has no images.');
  const warnings: string[] = [];
  // Pass 1: headers only, to order the slices and size the volume before any pixel is decoded.
  const headers: SliceHeader[] = [];
  for (const source of sources) {
    limits.signal?.throwIfAborted();
    const dataset = parseDicom(await source.read(), { stopAtPixelData: true });
    const meta = extractMetadata(dataset);
    if (!meta.hasPixelData) throw new SegmentationError(`Instance ${meta.sopInstanceUid ?? '?'} has no pixel data.`);
    if ((meta.samplesPerPixel ?? 1) !== 1) throw new SegmentationError('Segmentation needs greyscale images; this series is in colour.');
    headers.push({
      meta,
      frames: Math.max(1, meta.numberOfFrames ?? 1),
      position: slicePosition(meta.imagePositionPatient, meta.imageOrientationPatient),
      spacingBetweenSlices: getNumbers(dataset, SPACING_BETWEEN_SLICES)?.[0] ?? null,
    });
  }
  const first = headers[0]!.meta;
  const rows = first.rows ?? 0;
  const columns = first.columns ?? 0;
  if (!rows || !columns) throw new SegmentationError('The images have no size (Rows/Columns).');
  if (headers.some((h) => h.meta.rows !== rows || h.meta.columns !== columns)) {
    throw new SegmentationError('The images of this series differ in size, so they do not form one volume.');
  }
  const multiFrame = headers.length === 1 && headers[0]!.frames > 1;
  if (!multiFrame && headers.some((h) => h.frames > 1)) {
    throw new SegmentationError('The series holds several multi-frame images; segmentation needs one volume (single-frame slices or one multi-frame image).');
  }

  const orientation = first.imageOrientationPatient ?? [1, 0, 0, 0, 1, 0];
  const rowDir: Vec3 = [orientation[0], orientation[1], orientation[2]];
  const colDir: Vec3 = [orientation[3], orientation[4], orientation[5]];
  const normal = cross(rowDir, colDir);
  const spacingKnown = first.pixelSpacing !== null;
  // Pixel Spacing is [between rows, between columns]: along j, then along i.
  const [rowSpacing, columnSpacing] = first.pixelSpacing ?? [1, 1];
  if (!spacingKnown) warnings.push('The images have no Pixel Spacing: 1 mm was assumed, so volumes are in units of 1 mm³ voxels.');

  let order = headers.map((_, i) => i);
  let sliceSpacing: number | null = null;
  let origin: Vec3 = first.imagePositionPatient ?? [0, 0, 0];
  let sliceCount = headers.length;
  let frameOrigins: Vec3[] | null = null;
  if (multiFrame) {
    sliceCount = headers[0]!.frames;
  } else if (headers.every((h) => h.position !== null)) {
    order = [...order].sort((a, b) => headers[a]!.position! - headers[b]!.position!);
    const positions = order.map((i) => headers[i]!.position!);
    const gaps = positions.slice(1).map((p, i) => p - positions[i]!);
    if (gaps.some((g) => Math.abs(g) < 1e-3)) throw new SegmentationError('Two images of this series lie at the same position, so they do not form one volume.');
    if (gaps.length > 0) {
      sliceSpacing = median(gaps);
      if (gaps.some((g) => Math.abs(g - sliceSpacing!) > 0.1 * sliceSpacing!)) {
        warnings.push(`The slices are not evenly spaced (${Math.min(...gaps).toFixed(2)}–${Math.max(...gaps).toFixed(2)} mm); volumes use the median gap, ${sliceSpacing.toFixed(2)} mm.`);
      }
    }
    origin = headers[order[0]!]!.meta.imagePositionPatient!;
  } else {
    order = [...order].sort((a, b) => (headers[a]!.meta.instanceNumber ?? 0) - (headers[b]!.meta.instanceNumber ?? 0));
    if (headers.length > 1) warnings.push('The images have no position; they were stacked in instance number order.');
  }

  const dims: [number, number, number] = [columns, rows, sliceCount];
  checkVoxels(columns * rows * sliceCount, limits);
  const integral = headers.every((h) => fitsInt16(h.meta));
  const data = allocate(columns * rows * sliceCount, integral);
  const plane = columns * rows;

  // Pass 2: decode and rescale every slice into its place.
  let slot = 0;
  for (const index of order) {
    limits.signal?.throwIfAborted();
    const bytes = await sources[index]!.read();
    const dataset = parseDicom(bytes, { stopAtPixelData: false });
    const meta = headers[index]!.meta;
    const slope = meta.rescaleSlope ?? 1;
    const intercept = meta.rescaleIntercept ?? 0;
    if (multiFrame) frameOrigins = framePositions(dataset, sliceCount);
    for (let f = 0; f < headers[index]!.frames; f++) {
      const frame = await decodeFrame(dataset, f);
      const base = slot * plane;
      for (let p = 0; p < plane; p++) data[base + p] = frame.data[p]! * slope + intercept;
      slot++;
    }
  }

  if (multiFrame) {
    const distinct = frameOrigins && frameOrigins.length > 1 ? frameOrigins : null;
    if (distinct) {
      origin = distinct[0]!;
      const step = distinct[1]!.map((v, i) => v - distinct[0]![i]!) as Vec3;
      const along = step[0] * normal[0] + step[1] * normal[1] + step[2] * normal[2];
      if (Math.abs(along) > 1e-3) sliceSpacing = along;
    }
  }
  let sliceSpacingKnown = sliceSpacing !== null;
  if (sliceSpacing === null) {
    const fallback = headers[0]!.spacingBetweenSlices ?? first.sliceThickness;
    sliceSpacing = fallback && fallback > 0 ? fallback : 1;
    sliceSpacingKnown = !!fallback && fallback > 0;
    if (!sliceSpacingKnown) warnings.push('The slice distance is unknown: 1 mm was assumed.');
  }
  const kDir: Vec3 = [normal[0] * sliceSpacing, normal[1] * sliceSpacing, normal[2] * sliceSpacing];
  const lps: Matrix4 = [
    [rowDir[0] * columnSpacing, colDir[0] * rowSpacing, kDir[0], origin[0]],
    [rowDir[1] * columnSpacing, colDir[1] * rowSpacing, kDir[1], origin[1]],
    [rowDir[2] * columnSpacing, colDir[2] * rowSpacing, kDir[2], origin[2]],
    [0, 0, 0, 1],
  ];
  const singleFrameUids = multiFrame ? null : order.map((i) => headers[i]!.meta.sopInstanceUid ?? '');
  return {
    dims,
    spacing: [columnSpacing, rowSpacing, Math.abs(sliceSpacing)],
    affine: lpsToRas(lps),
    data,
    modality: first.modality,
    hounsfield: first.modality === 'CT',
    spacingKnown: spacingKnown && sliceSpacingKnown,
    sliceUids: singleFrameUids,
    source: 'dicom',
    warnings,
  };
}

/**
 * The first 3D volume of a NIfTI file (already inflated), scaled (scl_slope/scl_inter), on the
 * file's own voxel grid and world matrix, so that a label map made from it overlays the file.
 */
export function volumeFromNifti(bytes: Uint8Array, modality: string | null, limits: VolumeLimits): ImageVolume {
  const nifti = readNiftiVolume(bytes, { volume: 0 });
  const [nx, ny, nz] = nifti.shape;
  checkVoxels(nx * ny * nz, limits);
  if (nifti.components !== 1) throw new SegmentationError('Segmentation needs a scalar NIfTI volume; this one holds complex or colour voxels.');
  const { matrix, source } = worldMatrix(nifti.header);
  const read = scaledReader(nifti);
  const count = nx * ny * nz;
  let integral = true;
  for (let v = 0; v < count && integral; v++) {
    const value = read(v);
    integral = Number.isInteger(value) && value >= -32768 && value <= 32767;
  }
  const data = allocate(count, integral);
  for (let v = 0; v < count; v++) {
    const value = read(v);
    data[v] = Number.isFinite(value) ? value : 0;
  }
  const column = (c: 0 | 1 | 2) => Math.hypot(matrix[0][c], matrix[1][c], matrix[2][c]);
  const warnings = source === 'pixdim' ? ['The NIfTI file has no orientation (qform/sform); voxel sizes only were used.'] : [];
  const unit = nifti.header.xyztUnits.spatial;
  const mm = unit === 'meter' ? 1000 : unit === 'micron' ? 0.001 : 1;
  return {
    dims: [nx, ny, nz],
    spacing: [column(0) * mm, column(1) * mm, column(2) * mm],
    affine: matrix,
    data,
    modality,
    hounsfield: modality === 'CT',
    spacingKnown: true,
    sliceUids: null,
    source: 'nifti',
    warnings,
  };
}
