import { type Matrix4, quaternToMatrix } from './affine';
import { NIFTI_DATATYPES, type NiftiDatatype, UNSUPPORTED_NIFTI_DATATYPES } from './datatypes';
import { NiftiParseError } from './errors';

// No Node-only APIs in this file: a browser viewer may later parse headers itself.

export const NIFTI1_HEADER_SIZE = 348;
export const NIFTI2_HEADER_SIZE = 540;

/** Default cap on the number of voxels (product of all dims). */
export const DEFAULT_MAX_VOXELS = 2 ** 31;

export type NiftiMagic = 'n+1' | 'ni1' | 'n+2' | 'ni2';
export type SpatialUnit = 'unknown' | 'meter' | 'mm' | 'micron';
export type TemporalUnit = 'unknown' | 'sec' | 'msec' | 'usec' | 'hz' | 'ppm' | 'rads';
export type XformName = 'unknown' | 'scanner_anat' | 'aligned_anat' | 'talairach' | 'mni_152' | 'template_other';

export interface NiftiHeader {
  version: 1 | 2;
  littleEndian: boolean;
  sizeofHdr: 348 | 540;
  magic: NiftiMagic;
  /**
   * False for 'ni1'/'ni2': a .hdr whose voxels live in a separate .img file, in which case
   * voxOffset / minFileBytes refer to that .img file.
   */
  singleFile: boolean;
  /** dim[1..dim[0]], trailing 1s kept as stored. */
  dims: number[];
  datatypeCode: number;
  datatype: NiftiDatatype;
  bitpix: number;
  bytesPerVoxel: number;
  /** Values per voxel: 1 scalar, 2 complex, 3 RGB, 4 RGBA. */
  components: 1 | 2 | 3 | 4;
  /** pixdim[1..dim[0]], as stored (may be negative or zero in sloppy files). */
  pixdim: number[];
  /** From pixdim[0]: negative flips the k axis of the qform, anything else counts as 1. */
  qfac: 1 | -1;
  voxOffset: number;
  /** Effective scaling: stored slope 0 or non-finite means "no scaling" (1, 0). */
  sclSlope: number;
  sclInter: number;
  hasScaling: boolean;
  calMin: number;
  calMax: number;
  qformCode: number;
  qformName: XformName;
  sformCode: number;
  sformName: XformName;
  /** Computed from the quaternion fields even when qformCode is 0 (as nibabel does). */
  qform: Matrix4;
  /** srow_x/y/z, whatever sformCode says. */
  sform: Matrix4;
  xyztUnits: { spatial: SpatialUnit; temporal: TemporalUnit };
  /** 1-based axis numbers from dim_info, 0 when not specified. */
  dimInfo: { freq: number; phase: number; slice: number };
  description: string;
  intentCode: number;
  intentName: string;
  /** More than one 3D volume (product of dims beyond the third > 1). */
  is4d: boolean;
  /** Number of 3D volumes (product of dims beyond the third). */
  volumeCount: number;
  voxelCount: number;
  /** Bytes of voxel data: voxelCount × bitpix / 8. */
  dataBytes: number;
  /** voxOffset + dataBytes: a complete file is at least this long (after inflating). */
  minFileBytes: number;
}

export interface ParseHeaderOptions {
  /** Reject headers whose product of dims exceeds this (default 2^31). */
  maxVoxels?: number;
}

export interface NiftiSniff {
  nifti: boolean;
  /** The bytes start with the gzip magic: only inflating them can tell whether it is NIfTI. */
  gzip: boolean;
  version?: 1 | 2;
}

const NIFTI2_MAGIC_TAIL = [0x0d, 0x0a, 0x1a, 0x0a];

function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Header size and byte order from sizeof_hdr, or undefined when it is neither 348 nor 540. */
function sizeofHdr(bytes: Uint8Array): { size: 348 | 540; littleEndian: boolean } | undefined {
  if (bytes.length < 4) return undefined;
  const dv = view(bytes);
  for (const littleEndian of [true, false]) {
    const size = dv.getInt32(0, littleEndian);
    if (size === NIFTI1_HEADER_SIZE || size === NIFTI2_HEADER_SIZE) return { size, littleEndian };
  }
  return undefined;
}

/**
 * The magic string, or undefined when absent. `null` means the bytes end before the magic.
 * An Analyze 7.5 header (sizeof_hdr 348 without magic) is deliberately not NIfTI: it has no
 * orientation and different scaling rules.
 */
function readMagic(bytes: Uint8Array, size: 348 | 540): NiftiMagic | undefined | null {
  if (size === NIFTI1_HEADER_SIZE) {
    if (bytes.length < 348) return null;
    const [m0, m1, m2, m3] = bytes.subarray(344, 348);
    if (m0 !== 0x6e || m3 !== 0 || m2 !== 0x31) return undefined;
    if (m1 === 0x2b) return 'n+1';
    if (m1 === 0x69) return 'ni1';
    return undefined;
  }
  if (bytes.length < 12) return null;
  const [m0, m1, m2, m3] = bytes.subarray(4, 8);
  if (m0 !== 0x6e || m2 !== 0x32 || m3 !== 0) return undefined;
  if (!NIFTI2_MAGIC_TAIL.every((b, i) => bytes[8 + i] === b)) return undefined;
  if (m1 === 0x2b) return 'n+2';
  if (m1 === 0x69) return 'ni2';
  return undefined;
}

/**
 * Content recognition from the first bytes of a file (348 bytes suffice for NIfTI-1, 12 for
 * NIfTI-2). Gzip data is reported as `gzip: true, nifti: false`: pass the inflated bytes to
 * learn more.
 */
export function sniffNifti(bytes: Uint8Array): NiftiSniff {
  if (isGzip(bytes)) return { nifti: false, gzip: true };
  const hdr = sizeofHdr(bytes);
  if (!hdr) return { nifti: false, gzip: false };
  const magic = readMagic(bytes, hdr.size);
  if (!magic) return { nifti: false, gzip: false };
  return { nifti: true, gzip: false, version: hdr.size === NIFTI1_HEADER_SIZE ? 1 : 2 };
}

/**
 * Whether `bytes` (a prefix of a file) could still turn out to be NIfTI once more bytes arrive.
 * Lets a streaming reader give up on a 1 GB non-NIfTI upload after its first chunk.
 */
export function couldBeNiftiPrefix(bytes: Uint8Array): boolean {
  if (bytes.length < 4) return true;
  const hdr = sizeofHdr(bytes);
  if (!hdr) return false;
  return readMagic(bytes, hdr.size) !== undefined;
}

/** Bytes needed before parseNiftiHeader can succeed, or undefined while sizeof_hdr is unknown. */
export function niftiHeaderLength(bytes: Uint8Array): 348 | 540 | undefined {
  return sizeofHdr(bytes)?.size;
}

function decodeString(bytes: Uint8Array): string {
  const end = bytes.indexOf(0);
  const text = new TextDecoder('utf-8').decode(end === -1 ? bytes : bytes.subarray(0, end));
  // Control characters would end up in HTML and logs; headers sometimes carry garbage.
  return text.replace(/[\u0000-\u001f\u007f]/g, ' ').trim();
}

const SPATIAL_UNITS: Record<number, SpatialUnit> = { 1: 'meter', 2: 'mm', 3: 'micron' };
const TEMPORAL_UNITS: Record<number, TemporalUnit> = { 8: 'sec', 16: 'msec', 24: 'usec', 32: 'hz', 40: 'ppm', 48: 'rads' };
const XFORM_NAMES: Record<number, XformName> = {
  1: 'scanner_anat',
  2: 'aligned_anat',
  3: 'talairach',
  4: 'mni_152',
  5: 'template_other',
};

/** The fields whose layout differs between NIfTI-1 and NIfTI-2, widened to numbers. */
interface RawFields {
  dim: bigint[];
  datatype: number;
  bitpix: number;
  pixdim: number[];
  voxOffset: number;
  sclSlope: number;
  sclInter: number;
  calMax: number;
  calMin: number;
  descrip: Uint8Array;
  qformCode: number;
  sformCode: number;
  quatern: [number, number, number];
  qoffset: [number, number, number];
  srow: [number[], number[], number[]];
  xyztUnits: number;
  intentCode: number;
  intentName: Uint8Array;
  dimInfo: number;
}

function range<T>(n: number, f: (i: number) => T): T[] {
  return Array.from({ length: n }, (_, i) => f(i));
}

function readNifti1(bytes: Uint8Array, le: boolean): RawFields {
  const dv = view(bytes);
  const f32 = (o: number) => dv.getFloat32(o, le);
  return {
    dimInfo: dv.getUint8(39),
    dim: range(8, (i) => BigInt(dv.getInt16(40 + 2 * i, le))),
    intentCode: dv.getInt16(68, le),
    datatype: dv.getInt16(70, le),
    bitpix: dv.getInt16(72, le),
    pixdim: range(8, (i) => f32(76 + 4 * i)),
    voxOffset: f32(108),
    sclSlope: f32(112),
    sclInter: f32(116),
    xyztUnits: dv.getUint8(123),
    calMax: f32(124),
    calMin: f32(128),
    descrip: bytes.subarray(148, 228),
    qformCode: dv.getInt16(252, le),
    sformCode: dv.getInt16(254, le),
    quatern: [f32(256), f32(260), f32(264)],
    qoffset: [f32(268), f32(272), f32(276)],
    srow: [range(4, (i) => f32(280 + 4 * i)), range(4, (i) => f32(296 + 4 * i)), range(4, (i) => f32(312 + 4 * i))],
    intentName: bytes.subarray(328, 344),
  };
}

function readNifti2(bytes: Uint8Array, le: boolean): RawFields {
  const dv = view(bytes);
  const f64 = (o: number) => dv.getFloat64(o, le);
  const voxOffset = dv.getBigInt64(168, le);
  return {
    datatype: dv.getInt16(12, le),
    bitpix: dv.getInt16(14, le),
    dim: range(8, (i) => dv.getBigInt64(16 + 8 * i, le)),
    pixdim: range(8, (i) => f64(104 + 8 * i)),
    // Out-of-range offsets become non-integers / unsafe numbers and are rejected below.
    voxOffset: Number(voxOffset),
    sclSlope: f64(176),
    sclInter: f64(184),
    calMax: f64(192),
    calMin: f64(200),
    descrip: bytes.subarray(240, 320),
    qformCode: dv.getInt32(344, le),
    sformCode: dv.getInt32(348, le),
    quatern: [f64(352), f64(360), f64(368)],
    qoffset: [f64(376), f64(384), f64(392)],
    srow: [range(4, (i) => f64(400 + 8 * i)), range(4, (i) => f64(432 + 8 * i)), range(4, (i) => f64(464 + 8 * i))],
    xyztUnits: dv.getInt32(500, le),
    intentCode: dv.getInt32(504, le),
    intentName: bytes.subarray(508, 524),
    dimInfo: dv.getUint8(524),
  };
}

function row(values: number[]): [number, number, number, number] {
  return [values[0] ?? 0, values[1] ?? 0, values[2] ?? 0, values[3] ?? 0];
}

/**
 * Parses and validates a NIfTI-1 or NIfTI-2 header. `bytes` must hold at least the first
 * 348 (NIfTI-1) or 540 (NIfTI-2) bytes of the uncompressed file. Throws NiftiParseError only.
 */
export function parseNiftiHeader(bytes: Uint8Array, options: ParseHeaderOptions = {}): NiftiHeader {
  const maxVoxels = options.maxVoxels ?? DEFAULT_MAX_VOXELS;
  if (!(maxVoxels >= 1)) throw new RangeError(`maxVoxels must be at least 1, got ${maxVoxels}.`);
  if (bytes.length === 0) throw new NiftiParseError('empty_file', 'The file is empty.');
  if (isGzip(bytes)) throw new NiftiParseError('not_nifti', 'The data is gzip-compressed; inflate it before parsing the header.');
  const hdr = sizeofHdr(bytes);
  if (!hdr) throw new NiftiParseError('not_nifti', 'Not a NIfTI file: sizeof_hdr is neither 348 nor 540.');
  const magic = readMagic(bytes, hdr.size);
  if (magic === null) throw new NiftiParseError('truncated', `The file ends inside the ${hdr.size}-byte NIfTI header.`);
  if (magic === undefined) {
    throw new NiftiParseError(
      'not_nifti',
      hdr.size === NIFTI1_HEADER_SIZE
        ? 'Not a NIfTI file: no NIfTI magic at byte 344 (an Analyze 7.5 header is not supported).'
        : 'Not a NIfTI file: sizeof_hdr is 540 but the NIfTI-2 magic is missing.',
    );
  }
  if (bytes.length < hdr.size) throw new NiftiParseError('truncated', `The file ends inside the ${hdr.size}-byte NIfTI header.`);

  const le = hdr.littleEndian;
  const version = hdr.size === NIFTI1_HEADER_SIZE ? 1 : 2;
  const raw = version === 1 ? readNifti1(bytes, le) : readNifti2(bytes, le);
  const singleFile = magic === 'n+1' || magic === 'n+2';

  const ndim = Number(raw.dim[0]);
  if (!(ndim >= 1 && ndim <= 7)) throw new NiftiParseError('invalid_header', `dim[0] is ${raw.dim[0]}; it must be 1 to 7.`);
  const bigDims = raw.dim.slice(1, ndim + 1);
  const badDim = bigDims.findIndex((d) => d < 1n);
  if (badDim !== -1) {
    throw new NiftiParseError('invalid_header', `dim[${badDim + 1}] is ${bigDims[badDim]}; dimensions must be positive.`);
  }

  const typeInfo = NIFTI_DATATYPES.get(raw.datatype);
  if (!typeInfo) {
    const known = UNSUPPORTED_NIFTI_DATATYPES.get(raw.datatype);
    throw new NiftiParseError(
      'unsupported_datatype',
      known ? `The NIfTI datatype ${known} (${raw.datatype}) is not supported.` : `Unknown NIfTI datatype code ${raw.datatype}.`,
    );
  }
  if (raw.bitpix !== typeInfo.bitpix) {
    throw new NiftiParseError('invalid_header', `bitpix is ${raw.bitpix} but datatype ${typeInfo.name} has ${typeInfo.bitpix} bits.`);
  }

  // BigInt because NIfTI-2 dims are int64 and even NIfTI-1's 7 × int16 product overflows 2^53.
  const bigVoxels = bigDims.reduce((a, b) => a * b, 1n);
  if (bigVoxels > BigInt(Math.floor(Math.min(maxVoxels, Number.MAX_SAFE_INTEGER)))) {
    throw new NiftiParseError(
      'dimensions_too_large',
      `The image declares ${bigVoxels} voxels (${bigDims.join(' × ')}), more than the limit of ${maxVoxels}.`,
    );
  }

  // Fractional offsets occur in the wild; nibabel and nifti1_io truncate them, so do we.
  const voxOffset = Math.trunc(raw.voxOffset);
  if (!Number.isSafeInteger(voxOffset) || voxOffset < 0) {
    throw new NiftiParseError('invalid_header', `vox_offset ${raw.voxOffset} is not a valid byte offset.`);
  }
  if (singleFile && voxOffset < hdr.size) {
    throw new NiftiParseError('invalid_header', `vox_offset ${voxOffset} points inside the ${hdr.size}-byte header.`);
  }

  const voxelCount = Number(bigVoxels);
  const dataBytes = voxelCount * typeInfo.bytesPerVoxel;
  const minFileBytes = voxOffset + dataBytes;
  if (!Number.isSafeInteger(minFileBytes)) {
    throw new NiftiParseError('dimensions_too_large', 'The declared image size is too large to address.');
  }

  const dims = bigDims.map(Number);
  const volumeCount = dims.slice(3).reduce((a, b) => a * b, 1);
  const qfac = (raw.pixdim[0] ?? 0) < 0 ? -1 : 1;
  const pix = (i: number) => raw.pixdim[i] ?? 0;

  // The standard says slope 0 means "no scaling"; NaN/Inf would turn every voxel into NaN.
  const scaled = Number.isFinite(raw.sclSlope) && raw.sclSlope !== 0;
  const sclSlope = scaled ? raw.sclSlope : 1;
  const sclInter = scaled && Number.isFinite(raw.sclInter) ? raw.sclInter : 0;

  return {
    version,
    littleEndian: le,
    sizeofHdr: hdr.size,
    magic,
    singleFile,
    dims,
    datatypeCode: typeInfo.code,
    datatype: typeInfo.name,
    bitpix: typeInfo.bitpix,
    bytesPerVoxel: typeInfo.bytesPerVoxel,
    components: typeInfo.components,
    pixdim: raw.pixdim.slice(1, ndim + 1),
    qfac,
    voxOffset,
    sclSlope,
    sclInter,
    hasScaling: sclSlope !== 1 || sclInter !== 0,
    calMin: raw.calMin,
    calMax: raw.calMax,
    qformCode: raw.qformCode,
    qformName: XFORM_NAMES[raw.qformCode] ?? 'unknown',
    sformCode: raw.sformCode,
    sformName: XFORM_NAMES[raw.sformCode] ?? 'unknown',
    qform: quaternToMatrix(...raw.quatern, ...raw.qoffset, pix(1), pix(2), pix(3), qfac),
    sform: [row(raw.srow[0]), row(raw.srow[1]), row(raw.srow[2]), [0, 0, 0, 1]],
    xyztUnits: {
      spatial: SPATIAL_UNITS[raw.xyztUnits & 0x07] ?? 'unknown',
      temporal: TEMPORAL_UNITS[raw.xyztUnits & 0x38] ?? 'unknown',
    },
    dimInfo: { freq: raw.dimInfo & 0x03, phase: (raw.dimInfo >> 2) & 0x03, slice: (raw.dimInfo >> 4) & 0x03 },
    description: decodeString(raw.descrip),
    intentCode: raw.intentCode,
    intentName: decodeString(raw.intentName),
    is4d: volumeCount > 1,
    volumeCount,
    voxelCount,
    dataBytes,
    minFileBytes,
  };
}
