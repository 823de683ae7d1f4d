import { readFileSync } from 'node:fs';
import path from 'node:path';

// Shared by the lib/nifti tests only: builders for synthetic headers and fixture access.

export const FIXTURES_DIR = path.join(import.meta.dirname, '__fixtures__');

export function fixturePath(file: string): string {
  return path.join(FIXTURES_DIR, file);
}

export interface NiftiReference {
  gzip: boolean;
  format?: 'nifti1' | 'nifti2';
  magic?: string;
  endianness?: 'little' | 'big';
  dims?: number[];
  datatype?: string;
  datatype_code?: number;
  bitpix?: number;
  pixdim?: number[];
  vox_offset?: number;
  scl_slope?: number;
  scl_inter?: number;
  qform_code?: number;
  sform_code?: number;
  qform?: number[][];
  sform?: number[][];
  xyzt_units?: [string, string];
  is_4d?: boolean;
  error?: string;
  middle_axial_slice?: MiddleSliceReference;
  middle_axial_png?: { png: string; how: string };
}

export interface SliceStatsReference {
  min: number;
  max: number;
  mean: number;
  /** Present when the slice holds NaN/Inf; min/max/mean are then over finite values. */
  nonfinite_count?: number;
}

export interface MiddleSliceReference {
  /** e.g. [':', ':', 12] or [':', ':', 12, 0]. */
  index: (string | number)[];
  stored: SliceStatsReference;
  scaled: SliceStatsReference;
  /** sha256 of data[:, :, k, 0...] as the stored dtype, little-endian, C order of an (nx, ny) array. */
  sha256_stored: string;
}

export interface FixtureEntry {
  id: string;
  kind: string;
  file: string;
  size: number;
  sha256: string;
  categories: string[];
  expect_error: boolean;
  reference: NiftiReference;
}

export function loadFixtureManifest(): FixtureEntry[] {
  const manifest = JSON.parse(readFileSync(fixturePath('manifest.json'), 'utf8')) as { files: FixtureEntry[] };
  return manifest.files.filter((f) => f.kind === 'nifti');
}

export interface SyntheticFields {
  littleEndian?: boolean;
  /** Used dims; dim[0] is their count unless `dim0` overrides it. */
  dims?: number[];
  dim0?: number;
  datatype?: number;
  bitpix?: number;
  /** pixdim[0..7]; pixdim[0] is qfac. */
  pixdim?: number[];
  voxOffset?: number;
  sclSlope?: number;
  sclInter?: number;
  calMin?: number;
  calMax?: number;
  qformCode?: number;
  sformCode?: number;
  quatern?: [number, number, number];
  qoffset?: [number, number, number];
  srow?: [number[], number[], number[]];
  xyztUnits?: number;
  intentCode?: number;
  intentName?: string;
  description?: string;
  dimInfo?: number;
  magic?: string;
}

const DEFAULTS = {
  littleEndian: true,
  dims: [4, 5, 6],
  datatype: 4,
  bitpix: 16,
  pixdim: [1, 2, 3, 4, 1, 1, 1, 1],
  sclSlope: 1,
  sclInter: 0,
  calMin: 0,
  calMax: 0,
  qformCode: 1,
  sformCode: 1,
  quatern: [0, 0, 0] as [number, number, number],
  qoffset: [-10, -20, -30] as [number, number, number],
  srow: [
    [2, 0, 0, -10],
    [0, 3, 0, -20],
    [0, 0, 4, -30],
  ] as [number[], number[], number[]],
  xyztUnits: 2 | 8,
  intentCode: 0,
  intentName: '',
  description: 'synthetic',
  dimInfo: 0,
};

function ascii(bytes: Uint8Array, offset: number, text: string, max: number): void {
  for (let i = 0; i < Math.min(text.length, max); i++) bytes[offset + i] = text.charCodeAt(i) & 0xff;
}

/** A NIfTI-1 header plus the 4-byte extension flag (352 bytes). */
export function nifti1Header(fields: SyntheticFields = {}): Uint8Array {
  const f = { ...DEFAULTS, voxOffset: 352, magic: 'n+1\0', ...fields };
  const bytes = new Uint8Array(352);
  const dv = new DataView(bytes.buffer);
  const le = f.littleEndian;
  dv.setInt32(0, 348, le);
  dv.setUint8(39, f.dimInfo);
  dv.setInt16(40, f.dim0 ?? f.dims.length, le);
  f.dims.forEach((d, i) => dv.setInt16(42 + 2 * i, d, le));
  for (let i = f.dims.length; i < 7; i++) dv.setInt16(42 + 2 * i, 1, le);
  dv.setInt16(68, f.intentCode, le);
  dv.setInt16(70, f.datatype, le);
  dv.setInt16(72, f.bitpix, le);
  f.pixdim.forEach((p, i) => dv.setFloat32(76 + 4 * i, p, le));
  dv.setFloat32(108, f.voxOffset, le);
  dv.setFloat32(112, f.sclSlope, le);
  dv.setFloat32(116, f.sclInter, le);
  dv.setUint8(123, f.xyztUnits);
  dv.setFloat32(124, f.calMax, le);
  dv.setFloat32(128, f.calMin, le);
  ascii(bytes, 148, f.description, 80);
  dv.setInt16(252, f.qformCode, le);
  dv.setInt16(254, f.sformCode, le);
  f.quatern.forEach((q, i) => dv.setFloat32(256 + 4 * i, q, le));
  f.qoffset.forEach((q, i) => dv.setFloat32(268 + 4 * i, q, le));
  f.srow.forEach((r, j) => r.forEach((v, i) => dv.setFloat32(280 + 16 * j + 4 * i, v, le)));
  ascii(bytes, 328, f.intentName, 16);
  ascii(bytes, 344, f.magic, 4);
  return bytes;
}

/** A NIfTI-2 header plus the 4-byte extension flag (544 bytes). */
export function nifti2Header(fields: SyntheticFields & { bigDims?: bigint[] } = {}): Uint8Array {
  const f = { ...DEFAULTS, voxOffset: 544, magic: 'n+2\0\r\n\x1a\n', ...fields };
  const bytes = new Uint8Array(544);
  const dv = new DataView(bytes.buffer);
  const le = f.littleEndian;
  dv.setInt32(0, 540, le);
  ascii(bytes, 4, f.magic, 8);
  dv.setInt16(12, f.datatype, le);
  dv.setInt16(14, f.bitpix, le);
  const dims = f.bigDims ?? f.dims.map(BigInt);
  dv.setBigInt64(16, BigInt(f.dim0 ?? dims.length), le);
  for (let i = 0; i < 7; i++) dv.setBigInt64(24 + 8 * i, dims[i] ?? 1n, le);
  f.pixdim.forEach((p, i) => dv.setFloat64(104 + 8 * i, p, le));
  dv.setBigInt64(168, BigInt(f.voxOffset), le);
  dv.setFloat64(176, f.sclSlope, le);
  dv.setFloat64(184, f.sclInter, le);
  dv.setFloat64(192, f.calMax, le);
  dv.setFloat64(200, f.calMin, le);
  ascii(bytes, 240, f.description, 80);
  dv.setInt32(344, f.qformCode, le);
  dv.setInt32(348, f.sformCode, le);
  f.quatern.forEach((q, i) => dv.setFloat64(352 + 8 * i, q, le));
  f.qoffset.forEach((q, i) => dv.setFloat64(376 + 8 * i, q, le));
  f.srow.forEach((r, j) => r.forEach((v, i) => dv.setFloat64(400 + 32 * j + 8 * i, v, le)));
  dv.setInt32(500, f.xyztUnits, le);
  dv.setInt32(504, f.intentCode, le);
  ascii(bytes, 508, f.intentName, 16);
  dv.setUint8(524, f.dimInfo);
  return bytes;
}

/** Header followed by `dataBytes` zero bytes. */
export function withData(header: Uint8Array, dataBytes: number): Uint8Array {
  const file = new Uint8Array(header.length + dataBytes);
  file.set(header);
  return file;
}

export interface TrackedSource extends AsyncIterable<Uint8Array> {
  /** Chunks handed out so far. */
  readonly pulled: number;
  /** Whether the consumer closed the iterator (stopped early) or it ran to the end. */
  readonly closed: boolean;
}

/** Yields `data` in chunks of `chunkSize`, recording how far a consumer got. */
export function trackedSource(data: Uint8Array, chunkSize = 64 * 1024): TrackedSource {
  const state = { pulled: 0, closed: false };
  return {
    get pulled() {
      return state.pulled;
    },
    get closed() {
      return state.closed;
    },
    async *[Symbol.asyncIterator]() {
      try {
        for (let offset = 0; offset < data.length; offset += chunkSize) {
          state.pulled++;
          yield data.subarray(offset, offset + chunkSize);
        }
      } finally {
        state.closed = true;
      }
    },
  };
}

export async function* chunksOf(data: Uint8Array, chunkSize: number): AsyncGenerator<Uint8Array> {
  for (let offset = 0; offset < data.length; offset += chunkSize) yield data.subarray(offset, offset + chunkSize);
}

/** Size and DataView writer of one component, and the bitpix of one voxel, per datatype code. */
type ComponentWriter = (dv: DataView, offset: number, value: number | bigint, le: boolean) => void;

const COMPONENT_WRITERS: Record<number, { size: number; bitpix: number; write: ComponentWriter }> = {
  2: { size: 1, bitpix: 8, write: (dv, o, v) => dv.setUint8(o, Number(v)) },
  4: { size: 2, bitpix: 16, write: (dv, o, v, le) => dv.setInt16(o, Number(v), le) },
  8: { size: 4, bitpix: 32, write: (dv, o, v, le) => dv.setInt32(o, Number(v), le) },
  16: { size: 4, bitpix: 32, write: (dv, o, v, le) => dv.setFloat32(o, Number(v), le) },
  32: { size: 4, bitpix: 64, write: (dv, o, v, le) => dv.setFloat32(o, Number(v), le) },
  64: { size: 8, bitpix: 64, write: (dv, o, v, le) => dv.setFloat64(o, Number(v), le) },
  128: { size: 1, bitpix: 24, write: (dv, o, v) => dv.setUint8(o, Number(v)) },
  256: { size: 1, bitpix: 8, write: (dv, o, v) => dv.setInt8(o, Number(v)) },
  512: { size: 2, bitpix: 16, write: (dv, o, v, le) => dv.setUint16(o, Number(v), le) },
  768: { size: 4, bitpix: 32, write: (dv, o, v, le) => dv.setUint32(o, Number(v), le) },
  1024: { size: 8, bitpix: 64, write: (dv, o, v, le) => dv.setBigInt64(o, BigInt(v), le) },
  1280: { size: 8, bitpix: 64, write: (dv, o, v, le) => dv.setBigUint64(o, BigInt(v), le) },
  1792: { size: 8, bitpix: 128, write: (dv, o, v, le) => dv.setFloat64(o, Number(v), le) },
  2304: { size: 1, bitpix: 32, write: (dv, o, v) => dv.setUint8(o, Number(v)) },
};

/**
 * A complete single-file NIfTI-1 image: header, padding up to `voxOffset` (default 352), then
 * `values` (all components, file order) encoded as `datatype` in the header's byte order.
 */
export function niftiFile(fields: SyntheticFields & { datatype: number }, values: ArrayLike<number | bigint>): Uint8Array {
  const writer = COMPONENT_WRITERS[fields.datatype];
  if (!writer) throw new Error(`no writer for datatype ${fields.datatype}`);
  const voxOffset = fields.voxOffset ?? 352;
  const header = nifti1Header({ bitpix: writer.bitpix, ...fields, voxOffset });
  const file = new Uint8Array(voxOffset + values.length * writer.size);
  file.set(header);
  const dv = new DataView(file.buffer);
  const le = fields.littleEndian ?? true;
  for (let n = 0; n < values.length; n++) writer.write(dv, voxOffset + n * writer.size, values[n]!, le);
  return file;
}
