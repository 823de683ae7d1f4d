import type { Matrix4 } from '@/lib/nifti';

/** Voxel values: Hounsfield units for CT, the modality's own unit otherwise. */
export type VoxelData = Int16Array | Float32Array;

/**
 * A 3D image on a regular grid, as the engines see it. Voxel (i, j, k) is at
 * `data[(k * ny + j) * nx + i]`; for a DICOM series i runs along the columns, j along the rows
 * and k over the slices in ascending position along the slice normal (the viewer's order).
 */
export interface ImageVolume {
  dims: [number, number, number];
  /** mm between voxel centres along i, j and k. */
  spacing: [number, number, number];
  /** Voxel (i, j, k) → RAS+ world position in mm (the NIfTI convention). */
  affine: Matrix4;
  data: VoxelData;
  modality: string | null;
  /** The values are Hounsfield units (CT with its rescale applied). */
  hounsfield: boolean;
  /** False when the file gave no pixel spacing or slice distance and 1 mm was assumed. */
  spacingKnown: boolean;
  /** DICOM series of single-frame images: the SOP Instance UID of each k. */
  sliceUids: string[] | null;
  source: 'dicom' | 'nifti';
  /** Things worth showing next to the result (e.g. irregular slice spacing). */
  warnings: string[];
}

export type Rgb = [number, number, number];

export interface StructureInfo {
  /** Value in the label map (1–255; 0 is background). */
  label: number;
  name: string;
  color: Rgb;
  description?: string;
}

export interface Structure extends StructureInfo {
  voxels: number;
  /** voxels × voxel volume. */
  volumeMl: number;
}

export interface EngineOutput {
  /** One label per voxel of the input volume, same layout. */
  labels: Uint8Array;
  structures: StructureInfo[];
  /** Engine and model version, recorded with the result. */
  model: string;
}

export interface SegmentationOptions {
  /** TotalSegmentator: the 3 mm model (`--fast`). */
  fast?: boolean;
  /** TotalSegmentator: only these classes (`--roi_subset`). */
  roiSubset?: string[];
  /** TotalSegmentator: ask for one multi-label file (`--ml`) instead of one mask per structure. */
  multilabel?: boolean;
}

export type EngineName = 'builtin' | 'totalsegmentator';

/** One segmentation engine; see engines.ts for the registry. */
export interface SegmentationEngine {
  name: EngineName;
  label: string;
  /** Whether it can run on this server now (e.g. TotalSegmentator is installed or configured). */
  available(): Promise<boolean>;
  supports(modality: string | null): boolean;
  run(volume: ImageVolume, options: SegmentationOptions, signal: AbortSignal): Promise<EngineOutput>;
}

/** Raised for problems the user should read (bad input, tool failures); the message is shown as is. */
export class SegmentationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SegmentationError';
  }
}
