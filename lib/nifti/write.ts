import type { Matrix4 } from './affine';

// No Node-only APIs in this file.

export type WritableDatatype = 'uint8' | 'int16' | 'float32';

const CODES: Record<WritableDatatype, { code: number; bitpix: number }> = {
  uint8: { code: 2, bitpix: 8 },
  int16: { code: 4, bitpix: 16 },
  float32: { code: 16, bitpix: 32 },
};

export interface NiftiExtension {
  /** NIfTI extension code; 0 is "unknown/private", which TotalSegmentator's label tables use. */
  code: number;
  data: Uint8Array;
}

export interface WriteNiftiOptions {
  dims: readonly [number, number, number];
  /** Voxel (i, j, k) → RAS+ mm, stored as the sform (code 1, scanner anatomical). */
  affine: Matrix4;
  data: Uint8Array | Int16Array | Float32Array;
  sclSlope?: number;
  sclInter?: number;
  extensions?: NiftiExtension[];
  description?: string;
}

function datatypeOf(data: WriteNiftiOptions['data']): WritableDatatype {
  if (data instanceof Uint8Array) return 'uint8';
  if (data instanceof Int16Array) return 'int16';
  return 'float32';
}

/**
 * A single-file NIfTI-1 (.nii, little endian) holding one 3D volume. Voxel sizes go to pixdim and
 * the orientation to the sform; the qform is left unset (code 0), which every reader accepts.
 */
export function writeNifti1(options: WriteNiftiOptions): Uint8Array {
  const [nx, ny, nz] = options.dims;
  const count = nx * ny * nz;
  if (options.data.length !== count) throw new RangeError(`${options.data.length} voxels given for a ${nx} × ${ny} × ${nz} volume`);
  const { code, bitpix } = CODES[datatypeOf(options.data)];
  const extensions = (options.extensions ?? []).map((e) => {
    // esize counts its own 8 header bytes and must be a multiple of 16.
    const size = Math.ceil((e.data.length + 8) / 16) * 16;
    const bytes = new Uint8Array(size);
    const view = new DataView(bytes.buffer);
    view.setInt32(0, size, true);
    view.setInt32(4, e.code, true);
    bytes.set(e.data, 8);
    return bytes;
  });
  const voxOffset = 352 + extensions.reduce((sum, e) => sum + e.length, 0);
  const out = new Uint8Array(voxOffset + count * (bitpix / 8));
  const view = new DataView(out.buffer);
  view.setInt32(0, 348, true);
  view.setUint8(39, 0); // dim_info
  const dim = [3, nx, ny, nz, 1, 1, 1, 1];
  dim.forEach((v, i) => view.setInt16(40 + i * 2, v, true));
  view.setInt16(70, code, true);
  view.setInt16(72, bitpix, true);
  const m = options.affine;
  const column = (c: 0 | 1 | 2) => Math.hypot(m[0][c], m[1][c], m[2][c]);
  const pixdim = [1, column(0), column(1), column(2), 1, 1, 1, 1];
  pixdim.forEach((v, i) => view.setFloat32(76 + i * 4, v, true));
  view.setFloat32(108, voxOffset, true);
  view.setFloat32(112, options.sclSlope ?? 1, true);
  view.setFloat32(116, options.sclInter ?? 0, true);
  view.setUint8(123, 2); // xyzt_units: mm
  const description = new TextEncoder().encode((options.description ?? '').slice(0, 79));
  out.set(description, 148);
  view.setInt16(252, 0, true); // qform_code
  view.setInt16(254, 1, true); // sform_code: scanner anatomical
  for (let r = 0; r < 3; r++) for (let c = 0; c < 4; c++) view.setFloat32(280 + r * 16 + c * 4, m[r]![c]!, true);
  out.set(new TextEncoder().encode('n+1\0'), 344);
  view.setUint8(348, extensions.length > 0 ? 1 : 0);
  let at = 352;
  for (const e of extensions) {
    out.set(e, at);
    at += e.length;
  }
  const data = options.data;
  if (data instanceof Uint8Array) {
    out.set(data, voxOffset);
  } else if (data instanceof Int16Array) {
    for (let i = 0; i < count; i++) view.setInt16(voxOffset + i * 2, data[i]!, true);
  } else {
    for (let i = 0; i < count; i++) view.setFloat32(voxOffset + i * 4, data[i]!, true);
  }
  return out;
}

/** The extensions of a single-file NIfTI-1/2 (between the header and vox_offset). */
export function readNiftiExtensions(bytes: Uint8Array, headerSize: number, voxOffset: number): NiftiExtension[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < headerSize + 4 || bytes[headerSize] === 0) return [];
  const littleEndian = view.getInt32(0, true) === headerSize;
  const out: NiftiExtension[] = [];
  let at = headerSize + 4;
  while (at + 8 <= Math.min(voxOffset, bytes.length)) {
    const size = view.getInt32(at, littleEndian);
    const code = view.getInt32(at + 4, littleEndian);
    if (size < 16 || size % 16 !== 0 || at + size > Math.min(voxOffset, bytes.length)) break;
    out.push({ code, data: bytes.subarray(at + 8, at + size) });
    at += size;
  }
  return out;
}
