import { syntheticCtSlice } from './synthetic-ct';
import { uidFromUuid } from '@/lib/ingest/uid';

/**
 * A CT phantom with known geometry, for segmentation tests: a cylinder of soft tissue (40 HU)
 * along z, centred in the image, holding a sphere of air (−1000 HU, the "lung") and a rod of
 * bone (700 HU) parallel to the axis, surrounded by air. The expected volumes are the
 * continuous shapes' (πr²h, 4/3πr³): what a voxel segmentation must approach as voxels shrink.
 */
export interface CtPhantom {
  /** Pixels per side. */
  size: number;
  slices: number;
  /** mm per pixel, in plane. */
  pixelMm: number;
  /** mm between slices. */
  sliceMm: number;
  bodyRadiusMm: number;
  sphereRadiusMm: number;
  /** Sphere centre, mm from the image centre along x (columns). */
  sphereOffsetMm: number;
  /** … and along y (rows, downwards); default 0. */
  sphereOffsetYMm?: number;
  boneRadiusMm: number;
  /** Rod axis, mm from the image centre along x (columns); negative is to the left. */
  boneOffsetMm: number;
}

export const DEFAULT_PHANTOM: CtPhantom = {
  size: 128,
  slices: 48,
  pixelMm: 1,
  sliceMm: 1,
  bodyRadiusMm: 50,
  sphereRadiusMm: 18,
  sphereOffsetMm: 15,
  boneRadiusMm: 10,
  boneOffsetMm: -28,
};

/** HU of voxel (x, y, z) (pixel centres), z counted from the first slice. */
export function phantomHu(p: CtPhantom, x: number, y: number, z: number): number {
  const c = (p.size - 1) / 2;
  const mx = (x - c) * p.pixelMm;
  const my = (y - c) * p.pixelMm;
  const mz = (z - (p.slices - 1) / 2) * p.sliceMm;
  if (Math.hypot(mx, my) > p.bodyRadiusMm) return -1000;
  if (Math.hypot(mx - p.sphereOffsetMm, my - (p.sphereOffsetYMm ?? 0), mz) <= p.sphereRadiusMm) return -1000;
  if (Math.hypot(mx - p.boneOffsetMm, my) <= p.boneRadiusMm) return 700;
  return 40;
}

/** The volumes (mL) of the continuous shapes; the sphere must lie wholly inside the slab. */
export function phantomVolumes(p: CtPhantom): { body: number; lungs: number; bone: number; air: number } {
  const height = p.slices * p.sliceMm;
  const cylinder = Math.PI * p.bodyRadiusMm ** 2 * height;
  const sphere = (4 / 3) * Math.PI * p.sphereRadiusMm ** 3;
  const rod = Math.PI * p.boneRadiusMm ** 2 * height;
  const box = (p.size * p.pixelMm) ** 2 * height;
  return { body: (cylinder - sphere - rod) / 1000, lungs: sphere / 1000, bone: rod / 1000, air: (box - cylinder) / 1000 };
}

/** The phantom as HU values, i fastest (for engine tests that skip DICOM). */
export function phantomValues(p: CtPhantom): Int16Array {
  const out = new Int16Array(p.size * p.size * p.slices);
  for (let z = 0; z < p.slices; z++) for (let y = 0; y < p.size; y++) for (let x = 0; x < p.size; x++) out[(z * p.size + y) * p.size + x] = phantomHu(p, x, y, z);
  return out;
}

export interface CtGrid {
  size: number;
  slices: number;
  pixelMm: number;
  sliceMm: number;
}

/**
 * A CT series of single-frame DICOM files (Explicit VR Little Endian, 16-bit signed, rescale
 * intercept −1024) with the HU the function gives per voxel; slice k at z = k × sliceMm.
 */
export function ctSeries(
  grid: CtGrid,
  hu: (x: number, y: number, z: number) => number,
  ids: { patientId?: string; patientName?: string; description?: string } = {},
): { files: Buffer[]; studyUid: string; seriesUid: string; sopUids: string[] } {
  const studyUid = uidFromUuid();
  const seriesUid = uidFromUuid();
  const sopUids = Array.from({ length: grid.slices }, () => uidFromUuid());
  const files = sopUids.map((sopUid, z) =>
    syntheticCtSlice({
      size: grid.size,
      index: z,
      studyUid,
      seriesUid,
      sopUid,
      hu: (x, y) => hu(x, y, z),
      pixelMm: grid.pixelMm,
      sliceMm: grid.sliceMm,
      originMm: -((grid.size - 1) / 2) * grid.pixelMm,
      patientName: ids.patientName ?? 'Phantom^Segmentation',
      patientId: ids.patientId ?? 'SEG-PHANTOM',
      seriesDescription: ids.description ?? 'Segmentation phantom',
    }),
  );
  return { files, studyUid, seriesUid, sopUids };
}

/** The phantom as a CT series (see ctSeries). */
export function phantomSeries(p: CtPhantom = DEFAULT_PHANTOM, ids: { patientId?: string; patientName?: string } = {}) {
  return ctSeries(p, (x, y, z) => phantomHu(p, x, y, z), ids);
}
