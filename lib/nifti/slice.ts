import { type AxisCode, type Matrix4, type WorldMatrixSource, axisCodes, worldMatrix } from './affine';
import type { NiftiHeader } from './header';
import { type NiftiStoredArray, type NiftiVolume, heldVolumeOffset, scaledReader, storedArrayConstructor } from './volume';

// No Node-only APIs in this file.

export type SliceAxis = 'axial' | 'coronal' | 'sagittal';

/**
 * How a slice is cut and laid out. Images are row-major with row 0 at the top and x growing to
 * the right, in both modes.
 *
 * 'voxel': the stored voxel axes, ignoring the world matrix. "axial" fixes k, "coronal" fixes
 *   j, "sagittal" fixes i. The remaining axes, in (i, j, k) order, run along columns (the first,
 *   increasing to the right) and rows (the second, increasing upwards: row 0 is its highest
 *   index), i.e. the slice is shown like a plot with the origin bottom-left. This is what the
 *   corpus references use (`data[:, :, nz // 2]`, transposed and flipped vertically) and what
 *   tools without orientation support show; it says nothing about which side is the patient's
 *   left.
 *
 * 'display': radiological orientation from the world matrix (`worldMatrix`, sform before qform
 *   before pixdim; RAS+ world). The fixed voxel axis is the one closest to S/I for axial, A/P
 *   for coronal and L/R for sagittal (`axisCodes`, so oblique data goes to the nearest plane,
 *   without resampling). The in-plane axes are flipped so that the image looks like a DICOM
 *   image with the standard orientation, as radiology viewers show it:
 *     axial    (Image Orientation 1\0\0\0\1\0, seen from the feet): patient left on the image
 *              right, anterior at the top;
 *     coronal  (1\0\0\0\0\-1, seen from the front): patient left on the image right, superior
 *              at the top;
 *     sagittal (0\1\0\0\0\-1, seen from the patient's left): anterior on the image left,
 *              superior at the top.
 *   Files without any orientation (sform and qform codes 0) are treated as RAS, as nibabel and
 *   most viewers do; `orientationSource: 'pixdim'` tells the caller to say so on screen.
 */
export type SliceMode = 'voxel' | 'display';

/** 0 = i, 1 = j, 2 = k. */
export type VoxelAxis = 0 | 1 | 2;

export interface ImageAxis {
  voxelAxis: VoxelAxis;
  /** True when the voxel index decreases along the image axis (right for columns, down for rows). */
  reversed: boolean;
}

export interface SlicePlan {
  mode: SliceMode;
  axis: SliceAxis;
  /** Voxel axis held fixed; a slice index is a voxel index along it, in both modes. */
  fixedAxis: VoxelAxis;
  /** Number of slices along this axis: the volume's size along `fixedAxis`. */
  count: number;
  /** Voxel axis along image columns (x, left to right) and rows (y, top to bottom). */
  columns: ImageAxis;
  rows: ImageAxis;
  width: number;
  height: number;
  /**
   * Anatomical direction at each image edge, and the direction in which the slice index grows,
   * from the world matrix. In 'display' mode the edges are the convention above by
   * construction; in 'voxel' mode they are whatever the file's orientation gives.
   */
  edges: { left: AxisCode; right: AxisCode; top: AxisCode; bottom: AxisCode };
  indexDirection: AxisCode;
  orientationSource: WorldMatrixSource;
  /** [distance between rows, distance between columns] in mm, in DICOM Pixel Spacing order. */
  pixelSpacing: [number, number];
  /** Distance between adjacent slices in mm. */
  sliceSpacing: number;
}

export interface NiftiSlice extends SlicePlan {
  index: number;
  /** Volume index (4th dimension and beyond, flattened). */
  t: number;
  /**
   * Scaled values (scl_slope/scl_inter applied), `data[y * width + x]`, NaN kept. Complex and
   * RGB data are reduced to one value per pixel as `scaledReader` describes.
   */
  data: Float32Array;
  /** Stored values in the same layout, `components` values per pixel, interleaved. */
  stored: NiftiStoredArray;
  components: 1 | 2 | 3 | 4;
}

export interface SliceOptions {
  axis: SliceAxis;
  /**
   * Required on purpose: a default would let a caller show voxel order where a radiologist
   * expects the patient's left on the right, or the reverse, without noticing.
   */
  mode: SliceMode;
  /** Voxel index along the fixed axis; default the middle slice, floor(count / 2). */
  index?: number;
  /** Volume of a 4D+ file; default 0. */
  t?: number;
}

const OPPOSITE: Record<AxisCode, AxisCode> = { L: 'R', R: 'L', A: 'P', P: 'A', S: 'I', I: 'S' };

const VOXEL_LAYOUT: Record<SliceAxis, { fixed: VoxelAxis; columns: VoxelAxis; rows: VoxelAxis }> = {
  axial: { fixed: 2, columns: 0, rows: 1 },
  coronal: { fixed: 1, columns: 0, rows: 2 },
  sagittal: { fixed: 0, columns: 1, rows: 2 },
};

/** Which anatomical direction each image axis must grow towards (see SliceMode). */
const DISPLAY_LAYOUT: Record<SliceAxis, { fixed: AxisCode; right: AxisCode; down: AxisCode }> = {
  axial: { fixed: 'S', right: 'L', down: 'P' },
  coronal: { fixed: 'A', right: 'L', down: 'I' },
  sagittal: { fixed: 'R', right: 'P', down: 'I' },
};

const MM_PER_UNIT: Record<NiftiHeader['xyztUnits']['spatial'], number> = { unknown: 1, mm: 1, meter: 1000, micron: 0.001 };

function columnLength(m: Matrix4, axis: VoxelAxis): number {
  return Math.hypot(m[0][axis], m[1][axis], m[2][axis]);
}

function voxelAxisFor(codes: readonly AxisCode[], direction: AxisCode): ImageAxis {
  const axis = codes.findIndex((c) => c === direction || c === OPPOSITE[direction]) as VoxelAxis;
  return { voxelAxis: axis, reversed: codes[axis] !== direction };
}

/** Where a slice of `axis` comes from and how it is laid out, without reading any voxels. */
export function slicePlan(volume: Pick<NiftiVolume, 'header' | 'shape'>, axis: SliceAxis, mode: SliceMode): SlicePlan {
  const { matrix, source } = worldMatrix(volume.header);
  const codes = axisCodes(matrix);
  let fixedAxis: VoxelAxis;
  let columns: ImageAxis;
  let rows: ImageAxis;
  if (mode === 'voxel') {
    const layout = VOXEL_LAYOUT[axis];
    fixedAxis = layout.fixed;
    columns = { voxelAxis: layout.columns, reversed: false };
    rows = { voxelAxis: layout.rows, reversed: true };
  } else {
    const layout = DISPLAY_LAYOUT[axis];
    // axisCodes names three different world axes, so these three voxel axes are distinct.
    fixedAxis = voxelAxisFor(codes, layout.fixed).voxelAxis;
    columns = voxelAxisFor(codes, layout.right);
    rows = voxelAxisFor(codes, layout.down);
  }
  const toward = (a: ImageAxis): AxisCode => (a.reversed ? OPPOSITE[codes[a.voxelAxis]] : codes[a.voxelAxis]);
  const right = toward(columns);
  const bottom = toward(rows);
  const mm = MM_PER_UNIT[volume.header.xyztUnits.spatial];
  return {
    mode,
    axis,
    fixedAxis,
    count: volume.shape[fixedAxis],
    columns,
    rows,
    width: volume.shape[columns.voxelAxis],
    height: volume.shape[rows.voxelAxis],
    edges: { left: OPPOSITE[right], right, top: OPPOSITE[bottom], bottom },
    indexDirection: codes[fixedAxis],
    orientationSource: source,
    pixelSpacing: [columnLength(matrix, rows.voxelAxis) * mm, columnLength(matrix, columns.voxelAxis) * mm],
    sliceSpacing: columnLength(matrix, fixedAxis) * mm,
  };
}

/** Number of slices along each axis in the given mode. */
export function sliceCounts(volume: Pick<NiftiVolume, 'header' | 'shape'>, mode: SliceMode): Record<SliceAxis, number> {
  return {
    axial: slicePlan(volume, 'axial', mode).count,
    coronal: slicePlan(volume, 'coronal', mode).count,
    sagittal: slicePlan(volume, 'sagittal', mode).count,
  };
}

/** The voxel (i, j, k) shown at pixel (x, y) of a slice, e.g. for a cursor read-out. */
export function sliceVoxel(
  slice: Pick<NiftiSlice, 'fixedAxis' | 'index' | 'columns' | 'rows' | 'width' | 'height'>,
  x: number,
  y: number,
): [number, number, number] {
  const voxel: [number, number, number] = [0, 0, 0];
  voxel[slice.fixedAxis] = slice.index;
  voxel[slice.columns.voxelAxis] = slice.columns.reversed ? slice.width - 1 - x : x;
  voxel[slice.rows.voxelAxis] = slice.rows.reversed ? slice.height - 1 - y : y;
  return voxel;
}

/** Cuts one 2D slice out of a decoded volume; see SliceMode for the two layouts. */
export function extractSlice(volume: NiftiVolume, options: SliceOptions): NiftiSlice {
  const plan = slicePlan(volume, options.axis, options.mode);
  const index = options.index ?? Math.floor(plan.count / 2);
  if (!Number.isInteger(index) || index < 0 || index >= plan.count) {
    throw new RangeError(`Slice ${index} does not exist: there are ${plan.count} ${options.axis} slices.`);
  }
  const t = options.t ?? 0;
  const [nx, ny] = volume.shape;
  const strides = [1, nx, nx * ny];
  const { width, height, columns, rows } = plan;

  // Walk the slice by strides so no per-pixel index arithmetic beyond two additions is needed.
  const colStride = strides[columns.voxelAxis]! * (columns.reversed ? -1 : 1);
  const rowStride = strides[rows.voxelAxis]! * (rows.reversed ? -1 : 1);
  const origin =
    heldVolumeOffset(volume, t) +
    index * strides[plan.fixedAxis]! +
    (columns.reversed ? (width - 1) * strides[columns.voxelAxis]! : 0) +
    (rows.reversed ? (height - 1) * strides[rows.voxelAxis]! : 0);

  const c = volume.components;
  const data = new Float32Array(width * height);
  const Ctor = storedArrayConstructor(volume.header.datatype);
  const stored = new Ctor(width * height * c);
  const read = scaledReader(volume);
  const source = volume.stored;
  for (let y = 0, out = 0; y < height; y++) {
    let voxel = origin + y * rowStride;
    for (let x = 0; x < width; x++, out++, voxel += colStride) {
      data[out] = read(voxel);
      for (let n = 0; n < c; n++) stored[out * c + n] = source[voxel * c + n]!;
    }
  }
  return { ...plan, index, t, data, stored, components: c };
}
