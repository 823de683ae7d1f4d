/**
 * NIfTI-1/NIfTI-2 recognition, header parsing and ingest validation.
 *
 * Everything except `inspect.ts` and `read.ts` (inspectNifti, readNiftiBytes,
 * readNiftiVolumeFromStream: node:zlib and node:stream) is free of Node APIs; browser code can
 * import `volume.ts`, `slice.ts` and `window.ts` directly.
 */
export { NIFTI_ERROR_CODES, NiftiParseError, type NiftiErrorCode } from './errors';
export { NIFTI_DATATYPES, UNSUPPORTED_NIFTI_DATATYPES, type NiftiDatatype, type NiftiDatatypeInfo } from './datatypes';
export {
  DEFAULT_MAX_VOXELS,
  NIFTI1_HEADER_SIZE,
  NIFTI2_HEADER_SIZE,
  parseNiftiHeader,
  sniffNifti,
  type NiftiHeader,
  type NiftiMagic,
  type NiftiSniff,
  type ParseHeaderOptions,
  type SpatialUnit,
  type TemporalUnit,
  type XformName,
} from './header';
export {
  applyMatrix,
  axisCodes,
  pixdimMatrix,
  quaternToMatrix,
  worldMatrix,
  type AxisCode,
  type Matrix4,
  type Row4,
  type WorldMatrix,
  type WorldMatrixSource,
} from './affine';
export { inspectNifti, type InspectOptions, type NiftiInspection } from './inspect';
export { readNiftiBytes, readNiftiVolumeFromStream, type NiftiFileBytes } from './read';
export {
  readNiftiVolume,
  scaledReader,
  scaledVolume,
  storedAsNumbers,
  voxelValue,
  voxelsPerVolume,
  type NiftiNumberArray,
  type NiftiStoredArray,
  type NiftiVolume,
  type ReadVolumeOptions,
} from './volume';
export {
  extractSlice,
  sliceCounts,
  slicePlan,
  sliceVoxel,
  type ImageAxis,
  type NiftiSlice,
  type SliceAxis,
  type SliceMode,
  type SliceOptions,
  type SlicePlan,
  type VoxelAxis,
} from './slice';
export {
  percentiles,
  robustWindow,
  valueStats,
  volumeWindow,
  type DisplayWindow,
  type ValueStats,
  type WindowOptions,
} from './window';
