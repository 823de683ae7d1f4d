/**
 * NIfTI datatype codes (nifti1.h, NIFTI_TYPE_*). Only types that a JavaScript reader can turn
 * into typed arrays are supported; the others are listed so the error can name them.
 */
export type NiftiDatatype =
  | 'uint8'
  | 'int16'
  | 'int32'
  | 'float32'
  | 'complex64'
  | 'float64'
  | 'rgb24'
  | 'int8'
  | 'uint16'
  | 'uint32'
  | 'int64'
  | 'uint64'
  | 'complex128'
  | 'rgba32';

export interface NiftiDatatypeInfo {
  code: number;
  name: NiftiDatatype;
  bitpix: number;
  /** Bytes of one voxel (all components). */
  bytesPerVoxel: number;
  /** Values per voxel: 1 scalar, 2 complex (re, im), 3 RGB, 4 RGBA. */
  components: 1 | 2 | 3 | 4;
}

function info(code: number, name: NiftiDatatype, bitpix: number, components: 1 | 2 | 3 | 4): NiftiDatatypeInfo {
  return { code, name, bitpix, bytesPerVoxel: bitpix / 8, components };
}

export const NIFTI_DATATYPES: ReadonlyMap<number, NiftiDatatypeInfo> = new Map(
  [
    info(2, 'uint8', 8, 1),
    info(4, 'int16', 16, 1),
    info(8, 'int32', 32, 1),
    info(16, 'float32', 32, 1),
    info(32, 'complex64', 64, 2),
    info(64, 'float64', 64, 1),
    info(128, 'rgb24', 24, 3),
    info(256, 'int8', 8, 1),
    info(512, 'uint16', 16, 1),
    info(768, 'uint32', 32, 1),
    info(1024, 'int64', 64, 1),
    info(1280, 'uint64', 64, 1),
    info(1792, 'complex128', 128, 2),
    info(2304, 'rgba32', 32, 4),
  ].map((d) => [d.code, d]),
);

/** Valid NIfTI types that are refused anyway: no typed array can hold them. */
export const UNSUPPORTED_NIFTI_DATATYPES: ReadonlyMap<number, string> = new Map([
  [1, 'binary (1 bit)'],
  [1536, 'float128'],
  [2048, 'complex256'],
]);
