import { gunzipSync, gzipSync } from 'node:zlib';
import { Rng } from './prng';
import type { Mutant } from './dicom-mutator';

/**
 * Deterministic mutations of a valid NIfTI-1/2 file (.nii or .nii.gz): header fields at their
 * real offsets (dimensions, datatype, vox_offset, scaling, orientation, magic, extensions),
 * truncation and trailing data of the inflated image, and damage to the gzip layer itself.
 */

export interface NiftiTemplate {
  gzip: boolean;
  /** The uncompressed file. */
  raw: Buffer;
  version: 1 | 2;
  littleEndian: boolean;
}

export function niftiTemplate(file: Uint8Array): NiftiTemplate {
  const gzip = file[0] === 0x1f && file[1] === 0x8b;
  const raw = gzip ? gunzipSync(file) : Buffer.from(file);
  const le = raw.readInt32LE(0);
  const be = raw.readInt32BE(0);
  const size = le === 348 || le === 540 ? le : be;
  return { gzip, raw, version: size === 540 ? 2 : 1, littleEndian: le === 348 || le === 540 };
}

type Field = { name: string; offset: number; type: 'i16' | 'i32' | 'i64' | 'f32' | 'f64' | 'u8'; count?: number };

const NIFTI1_FIELDS: Field[] = [
  { name: 'sizeof_hdr', offset: 0, type: 'i32' },
  { name: 'dim_info', offset: 39, type: 'u8' },
  { name: 'dim', offset: 40, type: 'i16', count: 8 },
  { name: 'datatype', offset: 70, type: 'i16' },
  { name: 'bitpix', offset: 72, type: 'i16' },
  { name: 'pixdim', offset: 76, type: 'f32', count: 8 },
  { name: 'vox_offset', offset: 108, type: 'f32' },
  { name: 'scl_slope', offset: 112, type: 'f32' },
  { name: 'scl_inter', offset: 116, type: 'f32' },
  { name: 'slice_end', offset: 120, type: 'i16' },
  { name: 'xyzt_units', offset: 123, type: 'u8' },
  { name: 'cal_max', offset: 124, type: 'f32' },
  { name: 'qform_code', offset: 252, type: 'i16' },
  { name: 'sform_code', offset: 254, type: 'i16' },
  { name: 'quatern', offset: 256, type: 'f32', count: 6 },
  { name: 'srow', offset: 280, type: 'f32', count: 12 },
];

const NIFTI2_FIELDS: Field[] = [
  { name: 'sizeof_hdr', offset: 0, type: 'i32' },
  { name: 'datatype', offset: 12, type: 'i16' },
  { name: 'bitpix', offset: 14, type: 'i16' },
  { name: 'dim', offset: 16, type: 'i64', count: 8 },
  { name: 'pixdim', offset: 104, type: 'f64', count: 8 },
  { name: 'vox_offset', offset: 168, type: 'i64' },
  { name: 'scl_slope', offset: 176, type: 'f64' },
  { name: 'scl_inter', offset: 184, type: 'f64' },
  { name: 'qform_code', offset: 344, type: 'i32' },
  { name: 'sform_code', offset: 348, type: 'i32' },
  { name: 'quatern', offset: 352, type: 'f64', count: 6 },
  { name: 'srow', offset: 400, type: 'f64', count: 12 },
];

const SIZES = { u8: 1, i16: 2, i32: 4, i64: 8, f32: 4, f64: 8 } as const;

function interesting(rng: Rng, type: Field['type'], current: number): number | bigint {
  switch (type) {
    case 'u8':
      return rng.pick([0, 1, 0x7f, 0x80, 0xff, rng.int(0, 255)]);
    case 'i16':
      return rng.pick([0, -1, 1, 7, 8, 255, 32767, -32768, current + 1, current * 2, rng.int(-32768, 32767)]);
    case 'i32':
      return rng.pick([0, -1, 1, 348, 540, 0x7fffffff, -0x80000000, current + 1, rng.int(-0x80000000, 0x7fffffff)]);
    case 'i64':
      return rng.pick([0n, -1n, 1n, 2n ** 31n, 2n ** 40n, 2n ** 62n, -(2n ** 63n), BigInt(current) + 1n, BigInt(rng.int(0, 0x7fffffff)) * 65536n]);
    default:
      return rng.pick([NaN, Infinity, -Infinity, 0, -0, 1e-45, 1e38, -1e38, 3.4e38, -1, current * 1000, 352.5, 2 ** 31]);
  }
}

function read(buf: Buffer, f: Field, i: number, le: boolean): number {
  const at = f.offset + i * SIZES[f.type];
  if (at + SIZES[f.type] > buf.length) return 0;
  switch (f.type) {
    case 'u8':
      return buf.readUInt8(at);
    case 'i16':
      return le ? buf.readInt16LE(at) : buf.readInt16BE(at);
    case 'i32':
      return le ? buf.readInt32LE(at) : buf.readInt32BE(at);
    case 'i64':
      return Number(le ? buf.readBigInt64LE(at) : buf.readBigInt64BE(at));
    case 'f32':
      return le ? buf.readFloatLE(at) : buf.readFloatBE(at);
    case 'f64':
      return le ? buf.readDoubleLE(at) : buf.readDoubleBE(at);
  }
}

function write(buf: Buffer, f: Field, i: number, value: number | bigint, le: boolean): void {
  const at = f.offset + i * SIZES[f.type];
  if (at + SIZES[f.type] > buf.length) return;
  const n = Number(value);
  switch (f.type) {
    case 'u8':
      return void buf.writeUInt8(n & 0xff, at);
    case 'i16': {
      const v = ((Math.trunc(n) + 32768) & 0xffff) - 32768;
      return void (le ? buf.writeInt16LE(v, at) : buf.writeInt16BE(v, at));
    }
    case 'i32': {
      const v = Math.trunc(n) | 0;
      return void (le ? buf.writeInt32LE(v, at) : buf.writeInt32BE(v, at));
    }
    case 'i64': {
      const v = BigInt.asIntN(64, typeof value === 'bigint' ? value : BigInt(Math.trunc(Number.isFinite(n) ? n : 0)));
      return void (le ? buf.writeBigInt64LE(v, at) : buf.writeBigInt64BE(v, at));
    }
    case 'f32':
      return void (le ? buf.writeFloatLE(n, at) : buf.writeFloatBE(n, at));
    case 'f64':
      return void (le ? buf.writeDoubleLE(n, at) : buf.writeDoubleBE(n, at));
  }
}

const DATATYPES = [0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 768, 1024, 1280, 1536, 1792, 2048, 2304, 255, 9999, -1];

type RawMutation = (t: NiftiTemplate, raw: Buffer, rng: Rng) => { raw: Buffer; note: string };

const RAW_MUTATIONS: Record<string, { weight: number; apply: RawMutation }> = {
  field: {
    weight: 14,
    apply: (t, raw, rng) => {
      const f = rng.pick(t.version === 1 ? NIFTI1_FIELDS : NIFTI2_FIELDS);
      const i = f.count ? rng.int(0, f.count - 1) : 0;
      const value = interesting(rng, f.type, read(raw, f, i, t.littleEndian));
      write(raw, f, i, value, t.littleEndian);
      return { raw, note: `${f.name}[${i}]=${String(value)}` };
    },
  },
  hugeDimensions: {
    weight: 10,
    apply: (t, raw, rng) => {
      const f = (t.version === 1 ? NIFTI1_FIELDS : NIFTI2_FIELDS).find((x) => x.name === 'dim')!;
      const rank = rng.int(1, 7);
      const big = t.version === 1 ? rng.pick([32767, 30000, 4096, 65535]) : rng.pick([2 ** 16, 2 ** 20, 2 ** 31, 2 ** 40]);
      if (rng.chance(0.3)) write(raw, f, 0, rank, t.littleEndian);
      const axes: number[] = [];
      for (let k = rng.int(1, 4); k > 0; k--) {
        const axis = rng.int(1, 7);
        write(raw, f, axis, big, t.littleEndian);
        axes.push(axis);
      }
      return { raw, note: `dims(${axes.join(',')})=${big}${raw.length ? '' : ''}` };
    },
  },
  datatype: {
    weight: 5,
    apply: (t, raw, rng) => {
      const fields = t.version === 1 ? NIFTI1_FIELDS : NIFTI2_FIELDS;
      const datatype = rng.pick(DATATYPES);
      write(raw, fields.find((x) => x.name === 'datatype')!, 0, datatype, t.littleEndian);
      if (rng.chance(0.5)) write(raw, fields.find((x) => x.name === 'bitpix')!, 0, rng.pick([0, 1, 8, 16, 64, 128, 7]), t.littleEndian);
      return { raw, note: `datatype=${datatype}` };
    },
  },
  magic: {
    weight: 3,
    apply: (t, raw, rng) => {
      const at = t.version === 1 ? 344 : 4;
      const magic = rng.pick(['ni1\0', 'n+2\0', 'n+1\0', 'xxxx', '\0\0\0\0', 'ni2\0']);
      if (raw.length < at + 4) return { raw, note: 'magic(n/a)' };
      raw.write(magic, at, 'latin1');
      return { raw, note: `magic=${JSON.stringify(magic)}` };
    },
  },
  extension: {
    weight: 4,
    apply: (t, raw, rng) => {
      const at = t.version === 1 ? 348 : 540;
      if (raw.length < at + 12) return { raw, note: 'extension(n/a)' };
      raw[at] = 1;
      const esize = rng.pick([0, 8, 7, -16, 0x7fffffff, 16, raw.length * 4]);
      if (t.littleEndian) raw.writeInt32LE(esize, at + 4);
      else raw.writeInt32BE(esize, at + 4);
      return { raw, note: `extension esize=${esize}` };
    },
  },
  bitflip: {
    weight: 8,
    apply: (t, raw, rng) => {
      const end = rng.chance(0.8) ? Math.min(raw.length, t.version === 1 ? 352 : 544) : raw.length;
      const at: number[] = [];
      for (let n = rng.int(1, 12); n > 0; n--) {
        const pos = rng.int(0, end - 1);
        raw[pos]! ^= 1 << rng.int(0, 7);
        at.push(pos);
      }
      return { raw, note: `bitflip@${at.join(',')}` };
    },
  },
  truncate: {
    weight: 6,
    apply: (t, raw, rng) => {
      const at = rng.chance(0.5) ? rng.int(0, Math.min(raw.length, 600)) : rng.int(0, raw.length - 1);
      return { raw: raw.subarray(0, at), note: `truncate@${at}` };
    },
  },
  trailing: {
    weight: 3,
    apply: (t, raw, rng) => {
      const n = rng.pick([1, 3, 1000, 65536, 4 * 1024 * 1024]);
      return { raw: Buffer.concat([raw, Buffer.alloc(n, rng.int(0, 255))]), note: `trailing${n}` };
    },
  },
  endianSwap: {
    weight: 2,
    apply: (t, raw) => {
      if (raw.length < 4) return { raw, note: 'endianSwap(n/a)' };
      const v = raw.readInt32LE(0);
      raw.writeInt32BE(v, 0);
      return { raw, note: 'sizeof_hdr byte-swapped' };
    },
  },
};

const GZIP_MUTATIONS: Record<string, { weight: number; apply: (gz: Buffer, rng: Rng) => { gz: Buffer; note: string } }> = {
  bitflip: {
    weight: 5,
    apply: (gz, rng) => {
      const pos = rng.int(0, gz.length - 1);
      gz[pos]! ^= 1 << rng.int(0, 7);
      return { gz, note: `gzip bitflip@${pos}` };
    },
  },
  truncate: {
    weight: 4,
    apply: (gz, rng) => {
      const at = rng.int(0, gz.length - 1);
      return { gz: gz.subarray(0, at), note: `gzip truncate@${at}` };
    },
  },
  trailer: {
    weight: 3,
    apply: (gz, rng) => {
      // CRC32 and ISIZE: the last 8 bytes.
      const pos = gz.length - rng.int(1, 8);
      gz[pos] = rng.int(0, 255);
      return { gz, note: `gzip trailer@${pos}` };
    },
  },
  garbageAfter: {
    weight: 2,
    apply: (gz, rng) => {
      const junk = Buffer.alloc(rng.int(1, 100), rng.int(0, 255));
      return { gz: Buffer.concat([gz, junk]), note: `gzip +${junk.length} junk` };
    },
  },
  secondMember: {
    weight: 1,
    apply: (gz) => ({ gz: Buffer.concat([gz, gzipSync(Buffer.alloc(100_000))]), note: 'gzip second member' }),
  },
};

/** One mutant of the template, fully determined by `rng`'s seed. */
export function mutateNifti(t: NiftiTemplate, rng: Rng): Mutant {
  const notes: string[] = [];
  let raw: Buffer = Buffer.from(t.raw);
  const gzipLayerOnly = t.gzip && rng.chance(0.2);
  if (!gzipLayerOnly) {
    for (let i = rng.pick([1, 1, 2, 3]); i > 0; i--) {
      const [, m] = rng.weighted(RAW_MUTATIONS);
      const result = m.apply(t, raw, rng);
      raw = result.raw;
      notes.push(result.note);
    }
  }
  // Plain files are sometimes sent compressed, compressed ones sometimes plain.
  const gzip = rng.chance(0.15) ? !t.gzip : t.gzip;
  if (!gzip) return { data: raw, mutations: [...notes, ...(gzip !== t.gzip ? ['sent uncompressed'] : [])] };
  let gz: Buffer = gzipSync(raw, { level: 1 });
  if (gzipLayerOnly || rng.chance(0.1)) {
    const [, m] = rng.weighted(GZIP_MUTATIONS);
    const result = m.apply(gz, rng);
    gz = result.gz;
    notes.push(result.note);
  }
  if (gzip !== t.gzip) notes.push('sent gzip-compressed');
  return { data: gz, mutations: notes };
}
