import type { NiftiDatatype } from './datatypes';
import { NiftiParseError } from './errors';
import { type NiftiHeader, type ParseHeaderOptions, NIFTI1_HEADER_SIZE, parseNiftiHeader } from './header';

// No Node-only APIs in this file: a browser viewer may decode voxels itself.

/**
 * Stored voxel values exactly as the file holds them, converted to the platform's byte order.
 *
 * int64/uint64 deliberately come as BigInt64Array/BigUint64Array rather than Float64Array: label
 * maps and ID images use the full 64 bits, and silently rounding them above 2^53 would merge
 * labels. Scaled values (`scaledVolume`, `NiftiSlice.data`) convert them with Number(), which is
 * exact up to 2^53 only.
 */
export type NiftiStoredArray =
  | Uint8Array
  | Int8Array
  | Uint16Array
  | Int16Array
  | Uint32Array
  | Int32Array
  | Float32Array
  | Float64Array
  | BigInt64Array
  | BigUint64Array;

export interface ReadVolumeOptions extends ParseHeaderOptions {
  /**
   * Decode only this volume (0-based, over dims 4–7 flattened, dim 4 fastest) instead of all of
   * them: a 4D fMRI series can be hundreds of volumes, and a viewer needs one at a time.
   */
  volume?: number;
}

export interface NiftiVolume {
  header: NiftiHeader;
  /** dim[1..3]; 1 for the axes a 1D/2D file does not have. */
  shape: [number, number, number];
  /** Values per voxel in `stored`: 1 scalar, 2 complex (re, im), 3 RGB, 4 RGBA. */
  components: 1 | 2 | 3 | 4;
  /** Volumes in the file (header.volumeCount). */
  volumeCount: number;
  /** Which volumes `stored` holds: [firstVolume, firstVolume + heldVolumes). */
  firstVolume: number;
  heldVolumes: number;
  /**
   * Stored values, i fastest then j, k, volume (the file's order), components interleaved.
   * Voxel (i, j, k) of held volume v is at `((v * nz + k) * ny + j) * nx + i` (× components).
   */
  stored: NiftiStoredArray;
  /** scl_slope / scl_inter exactly as the file stores them (may be 0 or NaN). */
  rawSclSlope: number;
  rawSclInter: number;
  /**
   * The scaling applied by `scaledVolume` and slices: value = stored × sclSlope + sclInter.
   * A stored slope of 0 (or a non-finite one) means "no scaling" as the standard says, and RGB
   * data is never scaled (nifti1.h: scaling does not apply to RGB types), so both are 1 and 0
   * then.
   */
  sclSlope: number;
  sclInter: number;
}

type StoredArrayConstructor = {
  new (buffer: ArrayBuffer, byteOffset: number, length: number): NiftiStoredArray;
  new (length: number): NiftiStoredArray;
  readonly BYTES_PER_ELEMENT: number;
};

/** One array element per component, so complex and RGB types map to their component type. */
const COMPONENT_ARRAYS: Record<NiftiDatatype, StoredArrayConstructor> = {
  uint8: Uint8Array,
  int8: Int8Array,
  uint16: Uint16Array,
  int16: Int16Array,
  uint32: Uint32Array,
  int32: Int32Array,
  float32: Float32Array,
  float64: Float64Array,
  int64: BigInt64Array,
  uint64: BigUint64Array,
  complex64: Float32Array,
  complex128: Float64Array,
  rgb24: Uint8Array,
  rgba32: Uint8Array,
};

const PLATFORM_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export function storedArrayConstructor(datatype: NiftiDatatype): StoredArrayConstructor {
  return COMPONENT_ARRAYS[datatype];
}

function swapBytes(bytes: Uint8Array, width: number): void {
  for (let o = 0; o + width <= bytes.length; o += width) {
    for (let a = o, b = o + width - 1; a < b; a++, b--) {
      const tmp = bytes[a]!;
      bytes[a] = bytes[b]!;
      bytes[b] = tmp;
    }
  }
}

function rawScaling(bytes: Uint8Array, header: NiftiHeader): { slope: number; inter: number } {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const le = header.littleEndian;
  if (header.sizeofHdr === NIFTI1_HEADER_SIZE) return { slope: dv.getFloat32(112, le), inter: dv.getFloat32(116, le) };
  return { slope: dv.getFloat64(176, le), inter: dv.getFloat64(184, le) };
}

/**
 * Decodes the voxels of a complete single-file NIfTI-1/2 image held in memory (.nii bytes, or
 * a .nii.gz already inflated, e.g. by `readNiftiBytes`). Handles either byte order, any
 * vox_offset and every datatype `parseNiftiHeader` accepts. Throws NiftiParseError for bad
 * files and RangeError for a `volume` outside the file.
 */
export function readNiftiVolume(fileBytes: Uint8Array, options: ReadVolumeOptions = {}): NiftiVolume {
  const header = parseNiftiHeader(fileBytes, { maxVoxels: options.maxVoxels });
  if (!header.singleFile) {
    throw new NiftiParseError(
      'detached_header',
      `This is a header-only NIfTI file (magic '${header.magic}'): its voxels are in a separate .img file.`,
    );
  }
  const { volumeCount } = header;
  let firstVolume = 0;
  let heldVolumes = volumeCount;
  if (options.volume !== undefined) {
    if (!Number.isInteger(options.volume) || options.volume < 0 || options.volume >= volumeCount) {
      throw new RangeError(`Volume ${options.volume} does not exist: the file has ${volumeCount} volume(s).`);
    }
    firstVolume = options.volume;
    heldVolumes = 1;
  }
  const bytesPerVolume = header.dataBytes / volumeCount;
  const start = header.voxOffset + firstVolume * bytesPerVolume;
  const length = heldVolumes * bytesPerVolume;
  // Only the part actually decoded has to be present, so one volume of a truncated series
  // still reads; the error still names the whole file's requirement.
  if (fileBytes.length < start + length) {
    throw new NiftiParseError(
      'truncated',
      `The file holds ${fileBytes.length} bytes but the header needs ${header.minFileBytes} (vox_offset ${header.voxOffset} + ${header.dataBytes} bytes of voxel data).`,
    );
  }

  const Ctor = COMPONENT_ARRAYS[header.datatype];
  // A copy, because a typed array must start at a multiple of its element size and neither
  // vox_offset (any value from 352 up is legal) nor the caller's view (Node Buffers sit at
  // arbitrary offsets in a shared pool) guarantees that; the copy is also where a foreign byte
  // order is fixed. Not `fileBytes.slice()`: on a Buffer that is a view, and swapping in place
  // would corrupt the caller's bytes.
  const copy = new Uint8Array(length);
  copy.set(fileBytes.subarray(start, start + length));
  if (Ctor.BYTES_PER_ELEMENT > 1 && header.littleEndian !== PLATFORM_LITTLE_ENDIAN) swapBytes(copy, Ctor.BYTES_PER_ELEMENT);
  const stored = new Ctor(copy.buffer, 0, length / Ctor.BYTES_PER_ELEMENT);

  const raw = rawScaling(fileBytes, header);
  const rgb = header.datatype === 'rgb24' || header.datatype === 'rgba32';
  const dims = header.dims;
  return {
    header,
    shape: [dims[0] ?? 1, dims[1] ?? 1, dims[2] ?? 1],
    components: header.components,
    volumeCount,
    firstVolume,
    heldVolumes,
    stored,
    rawSclSlope: raw.slope,
    rawSclInter: raw.inter,
    sclSlope: rgb ? 1 : header.sclSlope,
    sclInter: rgb ? 0 : header.sclInter,
  };
}

/** Voxels per 3D volume. */
export function voxelsPerVolume(volume: Pick<NiftiVolume, 'shape'>): number {
  const [nx, ny, nz] = volume.shape;
  return nx * ny * nz;
}

/** Position of volume `t` (a file-wide index) inside `stored`, in voxels. */
export function heldVolumeOffset(volume: NiftiVolume, t: number): number {
  if (!Number.isInteger(t) || t < 0 || t >= volume.volumeCount) {
    throw new RangeError(`Volume ${t} does not exist: the file has ${volume.volumeCount} volume(s).`);
  }
  if (t < volume.firstVolume || t >= volume.firstVolume + volume.heldVolumes) {
    throw new RangeError(`Volume ${t} was not decoded (read with { volume: ${t} } or without the volume option).`);
  }
  return (t - volume.firstVolume) * voxelsPerVolume(volume);
}

/**
 * Returns a function giving the scaled scalar value of voxel `n` (an index into `stored` in
 * voxels, not components). Multi-component types are reduced to one number so that windowing
 * and statistics work on every datatype: RGB(A) gives Rec. 601 luma (0.299 R + 0.587 G +
 * 0.114 B, alpha ignored), complex gives the magnitude of the scaled value (slope × z + inter,
 * as nibabel scales complex data).
 */
export function scaledReader(volume: NiftiVolume): (n: number) => number {
  const { stored, sclSlope: slope, sclInter: inter } = volume;
  switch (volume.components) {
    case 1:
      if (stored instanceof BigInt64Array || stored instanceof BigUint64Array) return (n) => Number(stored[n]!) * slope + inter;
      return (n) => (stored[n] as number) * slope + inter;
    case 2: {
      const values = stored as Float32Array | Float64Array;
      return (n) => Math.hypot(values[2 * n]! * slope + inter, values[2 * n + 1]! * slope);
    }
    default: {
      const c = volume.components;
      const values = stored as Uint8Array;
      return (n) => 0.299 * values[c * n]! + 0.587 * values[c * n + 1]! + 0.114 * values[c * n + 2]!;
    }
  }
}

/** Scaled scalar value of voxel (i, j, k) in volume t, in double precision. */
export function voxelValue(volume: NiftiVolume, i: number, j: number, k: number, t = 0): number {
  const [nx, ny, nz] = volume.shape;
  if (![i, j, k].every(Number.isInteger) || i < 0 || j < 0 || k < 0 || i >= nx || j >= ny || k >= nz) {
    throw new RangeError(`Voxel (${i}, ${j}, ${k}) is outside the ${nx} × ${ny} × ${nz} volume.`);
  }
  return scaledReader(volume)(heldVolumeOffset(volume, t) + (k * ny + j) * nx + i);
}

/**
 * Scaled scalar values of volume t in file order (i fastest). Float32 by default, which is
 * what a viewer uploads to a GPU and halves the memory; pass 'float64' for float64/int32/64
 * data whose precision matters.
 */
export function scaledVolume(volume: NiftiVolume, t?: number): Float32Array;
export function scaledVolume(volume: NiftiVolume, t: number, precision: 'float64'): Float64Array;
export function scaledVolume(volume: NiftiVolume, t: number, precision: 'float32'): Float32Array;
export function scaledVolume(volume: NiftiVolume, t = 0, precision: 'float32' | 'float64' = 'float32'): Float32Array | Float64Array {
  const offset = heldVolumeOffset(volume, t);
  const count = voxelsPerVolume(volume);
  const out = precision === 'float64' ? new Float64Array(count) : new Float32Array(count);
  const read = scaledReader(volume);
  for (let n = 0; n < count; n++) out[n] = read(offset + n);
  return out;
}

/** NiftiStoredArray without the bigint arrays. */
export type NiftiNumberArray = Exclude<NiftiStoredArray, BigInt64Array | BigUint64Array>;

/**
 * Stored values as numbers: the array itself, or for int64/uint64 a Float64Array copy (exact up
 * to 2^53 in magnitude), for callers that have no use for bigint.
 */
export function storedAsNumbers(stored: NiftiStoredArray): NiftiNumberArray | Float64Array {
  if (stored instanceof BigInt64Array || stored instanceof BigUint64Array) return Float64Array.from(stored, Number);
  return stored;
}
