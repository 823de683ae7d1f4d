/**
 * NIfTI-1/NIfTI-2 recognition, header parsing and ingest validation.
 *
 * `header.ts`, `affine.ts`, `datatypes.ts` and `errors.ts` are free of Node APIs; only
 * `inspectNifti` needs node:zlib and node:stream.
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
