import type { ImageVolume, Rgb, Structure, StructureInfo } from './types';

/** mL per voxel: the product of the spacings (mm³) / 1000. */
export function voxelVolumeMl(volume: Pick<ImageVolume, 'spacing'>): number {
  const [sx, sy, sz] = volume.spacing;
  return (sx * sy * sz) / 1000;
}

/** Counts each structure's voxels in the label map: volume = voxel count × voxel volume. */
export function measureStructures(labels: Uint8Array, structures: readonly StructureInfo[], voxelMl: number): Structure[] {
  const counts = new Float64Array(256);
  for (let i = 0; i < labels.length; i++) counts[labels[i]!]!++;
  return structures.map((s) => ({ ...s, voxels: counts[s.label]!, volumeMl: roundMl(counts[s.label]! * voxelMl) }));
}

/** Volumes are reported to 0.001 mL: finer digits would only echo floating-point noise. */
export function roundMl(ml: number): number {
  return Math.round(ml * 1000) / 1000;
}

/**
 * A distinct colour for label n: hues a golden angle apart, so neighbouring labels (e.g. the
 * lobes of one lung in TotalSegmentator's map) never look alike.
 */
export function labelColor(label: number): Rgb {
  const hue = (label * 137.508) % 360;
  const s = 0.75;
  const l = 0.55;
  const k = (n: number) => (n + hue / 30) % 12;
  const a = s * Math.min(l, 1 - l);
  const f = (n: number) => l - a * Math.max(-1, Math.min(k(n) - 3, Math.min(9 - k(n), 1)));
  return [Math.round(f(0) * 255), Math.round(f(8) * 255), Math.round(f(4) * 255)];
}

/** Colours for well-known structure names, as radiology tools usually draw them. */
const NAMED_COLORS: Record<string, Rgb> = {
  body: [236, 178, 120],
  lungs: [80, 170, 255],
  bone: [250, 240, 170],
  air: [90, 215, 190],
  liver: [200, 90, 60],
  spleen: [150, 60, 160],
  kidney_left: [210, 120, 90],
  kidney_right: [210, 120, 90],
  heart: [220, 40, 60],
  aorta: [240, 60, 40],
};

export function structureColor(name: string, label: number): Rgb {
  return NAMED_COLORS[name] ?? labelColor(label);
}
