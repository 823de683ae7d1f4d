import { borderVoxels, fillHolesPerSlice, flood3d, keepComponents, keepLargestComponent, type Dims } from './components';
import { structureColor, voxelVolumeMl } from './structures';
import type { EngineOutput, ImageVolume, SegmentationEngine, StructureInfo } from './types';

/**
 * The built-in engine: thresholds and connected components, no model, a few seconds on a CPU.
 *
 * CT (Hounsfield units), in this order:
 *   body   the largest 6-connected component of HU > −500, holes filled slice by slice (so the
 *          lungs and bowel gas inside the outline belong to it);
 *   lungs  voxels inside the body with HU < −500, in 6-connected components of ≥ 5 mL (smaller
 *          pockets of gas stay "body");
 *   bone   voxels inside the body with HU ≥ 300;
 *   air    voxels outside the body with HU < −500 that are 6-connected to the volume's faces.
 * Each voxel gets one label: bone and lungs, then the rest of the body (soft tissue), then air.
 * So "body" is the body outline minus lungs and bone; the three add up to the whole body.
 *
 * Other modalities (MR, PET, NIfTI without a modality…): body = the largest component above an
 * Otsu threshold, holes filled slice by slice.
 */
export const CT_THRESHOLDS = { bodyAboveHu: -500, lungBelowHu: -500, boneFromHu: 300, lungMinMl: 5 } as const;

export const BUILTIN_MODEL = 'builtin-threshold 1';

export const LABELS = { body: 1, lungs: 2, bone: 3, air: 4 } as const;

const STRUCTURES: Record<keyof typeof LABELS, StructureInfo> = {
  body: { label: LABELS.body, name: 'body', color: structureColor('body', 1), description: 'Inside the body outline, without lungs and bone' },
  lungs: { label: LABELS.lungs, name: 'lungs', color: structureColor('lungs', 2), description: `Gas inside the body below ${CT_THRESHOLDS.lungBelowHu} HU, components ≥ ${CT_THRESHOLDS.lungMinMl} mL` },
  bone: { label: LABELS.bone, name: 'bone', color: structureColor('bone', 3), description: `Inside the body, ≥ ${CT_THRESHOLDS.boneFromHu} HU` },
  air: { label: LABELS.air, name: 'air', color: structureColor('air', 4), description: 'Air around the body, connected to the edge of the image' },
};

export function segmentCt(volume: ImageVolume, signal?: AbortSignal): EngineOutput {
  const { data } = volume;
  const dims: Dims = volume.dims;
  const n = data.length;
  const body = new Uint8Array(n);
  for (let v = 0; v < n; v++) body[v] = data[v]! > CT_THRESHOLDS.bodyAboveHu ? 1 : 0;
  keepLargestComponent(body, dims, signal);
  fillHolesPerSlice(body, dims, signal);

  const gas = new Uint8Array(n);
  for (let v = 0; v < n; v++) gas[v] = body[v] && data[v]! < CT_THRESHOLDS.lungBelowHu ? 1 : 0;
  const minVoxels = CT_THRESHOLDS.lungMinMl / voxelVolumeMl(volume);
  keepComponents(gas, dims, (all) => all.filter((c) => c.voxels >= minVoxels), signal);

  const labels = new Uint8Array(n);
  for (let v = 0; v < n; v++) {
    if (!body[v]) continue;
    labels[v] = data[v]! >= CT_THRESHOLDS.boneFromHu ? LABELS.bone : gas[v] ? LABELS.lungs : LABELS.body;
  }
  signal?.throwIfAborted();

  // Reuses `gas` for the outside air: 1 = outside and below the threshold, 2 = reached from the faces.
  for (let v = 0; v < n; v++) gas[v] = !body[v] && data[v]! < CT_THRESHOLDS.lungBelowHu ? 1 : 0;
  flood3d(gas, dims, borderVoxels(dims), 1, 2, signal);
  for (let v = 0; v < n; v++) if (gas[v] === 2) labels[v] = LABELS.air;

  return { labels, structures: [STRUCTURES.body, STRUCTURES.lungs, STRUCTURES.bone, STRUCTURES.air], model: BUILTIN_MODEL };
}

/**
 * Otsu's threshold over a 256-bin histogram of the finite values between their minimum and
 * maximum: the bin edge that best separates two classes (maximum between-class variance).
 */
export function otsuThreshold(data: ArrayLike<number>): number {
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (!Number.isFinite(v)) continue;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (!(max > min)) return min;
  const bins = 256;
  const width = (max - min) / bins;
  const histogram = new Float64Array(bins);
  let total = 0;
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (!Number.isFinite(v)) continue;
    histogram[Math.min(bins - 1, Math.floor((v - min) / width))]!++;
    total++;
  }
  let sumAll = 0;
  for (let b = 0; b < bins; b++) sumAll += histogram[b]! * (min + (b + 0.5) * width);
  let weight = 0;
  let sum = 0;
  let best = -1;
  let threshold = min;
  for (let b = 0; b < bins - 1; b++) {
    weight += histogram[b]!;
    sum += histogram[b]! * (min + (b + 0.5) * width);
    if (weight === 0 || weight === total) continue;
    const between = (sumAll * (weight / total) - sum) ** 2 / (weight * (total - weight));
    if (between > best) {
      best = between;
      threshold = min + (b + 1) * width;
    }
  }
  return threshold;
}

export function segmentBodyMask(volume: ImageVolume, signal?: AbortSignal): EngineOutput {
  const { data } = volume;
  const dims: Dims = volume.dims;
  const threshold = otsuThreshold(data);
  const labels = new Uint8Array(data.length);
  for (let v = 0; v < data.length; v++) labels[v] = data[v]! > threshold ? 1 : 0;
  keepLargestComponent(labels, dims, signal);
  fillHolesPerSlice(labels, dims, signal);
  return {
    labels,
    structures: [{ ...STRUCTURES.body, description: `Largest region above the Otsu threshold (${Number(threshold.toPrecision(6))}), holes filled` }],
    model: BUILTIN_MODEL,
  };
}

export const builtinEngine: SegmentationEngine = {
  name: 'builtin',
  label: 'Built-in (thresholds)',
  async available() {
    return true;
  },
  supports() {
    return true;
  },
  async run(volume, _options, signal) {
    signal.throwIfAborted();
    return volume.hounsfield ? segmentCt(volume, signal) : segmentBodyMask(volume, signal);
  },
};
