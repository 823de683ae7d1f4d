import type { NiftiHeader } from './header';

export type Row4 = [number, number, number, number];
/** Row-major 4x4 affine: world = M · [i, j, k, 1]ᵀ (voxel indices are 0-based). */
export type Matrix4 = [Row4, Row4, Row4, Row4];

export type WorldMatrixSource = 'sform' | 'qform' | 'pixdim';

export interface WorldMatrix {
  matrix: Matrix4;
  source: WorldMatrixSource;
}

/**
 * NIfTI-1 "method 2" qform, the formula of nifti1.h. b, c, d are the quaternion's vector part;
 * a is implied. dx, dy, dz are pixdim[1..3] and qfac is pixdim[0] (negative flips k).
 */
export function quaternToMatrix(
  b: number,
  c: number,
  d: number,
  qx: number,
  qy: number,
  qz: number,
  dx: number,
  dy: number,
  dz: number,
  qfac: number,
): Matrix4 {
  // Computed in double precision with no cut-off, as nibabel does. nifti1_io zeroes `a` below
  // 1e-7, which drops a real rotation of a few 1e-5 rad in near-180° qforms (example4d.nii.gz:
  // 1.4e-4 mm differences per voxel step).
  let a = 1 - (b * b + c * c + d * d);
  if (a < 0) {
    // b, c, d are stored as single floats, so |(b, c, d)| can round to just over 1: that is
    // a 180° rotation (a = 0) with a slightly denormalised axis.
    const norm = Math.sqrt(b * b + c * c + d * d);
    a = 0;
    b /= norm;
    c /= norm;
    d /= norm;
  } else {
    a = Math.sqrt(a);
  }
  // nifti1_io replaces non-positive voxel sizes by 1 rather than producing a singular matrix.
  const xd = dx > 0 ? dx : 1;
  const yd = dy > 0 ? dy : 1;
  const zd = (dz > 0 ? dz : 1) * (qfac < 0 ? -1 : 1);
  return [
    [(a * a + b * b - c * c - d * d) * xd, 2 * (b * c - a * d) * yd, 2 * (b * d + a * c) * zd, qx],
    [2 * (b * c + a * d) * xd, (a * a + c * c - b * b - d * d) * yd, 2 * (c * d - a * b) * zd, qy],
    [2 * (b * d - a * c) * xd, 2 * (c * d + a * b) * yd, (a * a + d * d - c * c - b * b) * zd, qz],
    [0, 0, 0, 1],
  ];
}

/** NIfTI "method 1": no orientation known, only voxel sizes. */
export function pixdimMatrix(pixdim: readonly number[]): Matrix4 {
  const size = (i: number) => {
    const v = Math.abs(pixdim[i] ?? 1);
    return Number.isFinite(v) && v > 0 ? v : 1;
  };
  return [
    [size(0), 0, 0, 0],
    [0, size(1), 0, 0],
    [0, 0, size(2), 0],
    [0, 0, 0, 1],
  ];
}

function isUsable(m: Matrix4): boolean {
  if (!m.every((row) => row.every(Number.isFinite))) return false;
  const [[a, b, c], [d, e, f], [g, h, i]] = m;
  const det = a * (e * i - f * h) - b * (d * i - f * g) + c * (d * h - e * g);
  return Number.isFinite(det) && det !== 0;
}

/**
 * The voxel-to-world affine a viewer should use, in the NIfTI standard's order of preference:
 * sform when sform_code > 0, else qform when qform_code > 0, else voxel sizes only. A matrix
 * that is declared but unusable (NaN, singular) is skipped, because hostile or broken headers
 * would otherwise poison every coordinate computed from it.
 */
export function worldMatrix(header: Pick<NiftiHeader, 'sformCode' | 'sform' | 'qformCode' | 'qform' | 'pixdim'>): WorldMatrix {
  if (header.sformCode > 0 && isUsable(header.sform)) return { matrix: header.sform, source: 'sform' };
  if (header.qformCode > 0 && isUsable(header.qform)) return { matrix: header.qform, source: 'qform' };
  return { matrix: pixdimMatrix(header.pixdim), source: 'pixdim' };
}

export function applyMatrix(m: Matrix4, i: number, j: number, k: number): [number, number, number] {
  return [
    m[0][0] * i + m[0][1] * j + m[0][2] * k + m[0][3],
    m[1][0] * i + m[1][1] * j + m[1][2] * k + m[1][3],
    m[2][0] * i + m[2][1] * j + m[2][2] * k + m[2][3],
  ];
}

export type AxisCode = 'L' | 'R' | 'P' | 'A' | 'I' | 'S';

const POSITIVE: readonly AxisCode[] = ['R', 'A', 'S'];
const NEGATIVE: readonly AxisCode[] = ['L', 'P', 'I'];

/**
 * The anatomical direction each voxel axis (i, j, k) points to in NIfTI's RAS+ world, e.g.
 * ['L', 'A', 'S'] when i runs right-to-left. Oblique axes are assigned to their closest world
 * axis, largest component first, so the three codes always name three different world axes.
 * Axial/coronal/sagittal slicing needs this to know which voxel axis to fix.
 */
export function axisCodes(m: Matrix4): [AxisCode, AxisCode, AxisCode] {
  const result: AxisCode[] = ['R', 'A', 'S'];
  const usedWorld = new Set<number>();
  const usedVoxel = new Set<number>();
  for (let n = 0; n < 3; n++) {
    let best = { world: -1, voxel: -1, size: -1 };
    for (let w = 0; w < 3; w++) {
      if (usedWorld.has(w)) continue;
      for (let v = 0; v < 3; v++) {
        if (usedVoxel.has(v)) continue;
        // `|| 0` keeps NaN entries from leaving an axis unassigned.
        const size = Math.abs(m[w]![v]!) || 0;
        if (size > best.size) best = { world: w, voxel: v, size };
      }
    }
    usedWorld.add(best.world);
    usedVoxel.add(best.voxel);
    const positive = !(m[best.world]![best.voxel]! < 0);
    result[best.voxel] = (positive ? POSITIVE : NEGATIVE)[best.world]!;
  }
  return result as [AxisCode, AxisCode, AxisCode];
}
