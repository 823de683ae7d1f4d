import { constants, crc32, deflateRawSync } from 'node:zlib';
import { writeDicom } from '@/lib/dicom/writer';

/**
 * Real decompression bombs, built small: a raw deflate block of CHUNK zeros ending in a full
 * flush is self-contained and byte-aligned, so repeating it N times is a valid deflate stream of
 * N × CHUNK zeros that costs N × ~64 KB to send and nothing to make.
 */
const CHUNK = 64 * 1024 * 1024;
let zeroBlock: Buffer | null = null;

function block(): Buffer {
  zeroBlock ??= deflateRawSync(Buffer.alloc(CHUNK), { level: 9, finishFlush: constants.Z_FULL_FLUSH });
  return zeroBlock;
}

function gf2Times(matrix: Uint32Array, vector: number): number {
  let sum = 0;
  for (let i = 0; vector !== 0; i++, vector >>>= 1) if (vector & 1) sum ^= matrix[i]!;
  return sum >>> 0;
}

function gf2Square(matrix: Uint32Array): Uint32Array {
  const square = new Uint32Array(32);
  for (let n = 0; n < 32; n++) square[n] = gf2Times(matrix, matrix[n]!);
  return square;
}

/**
 * crc32 of what `crc` covers followed by `count` zero bytes, without reading them: zeros move the
 * CRC register linearly, so the shift is a 32×32 bit matrix raised to the 8·count-th power
 * (zlib's crc32_combine), in log(count) squarings.
 */
function crcOfZeros(crc: number, count: number): number {
  // The operator for one zero bit, then squared up to one byte.
  let op: Uint32Array = new Uint32Array(32);
  op[0] = 0xedb88320;
  for (let n = 1, row = 1; n < 32; n++, row <<= 1) op[n] = row >>> 0;
  op = gf2Square(gf2Square(gf2Square(op)));
  let register = ~crc >>> 0;
  for (let left = count; left > 0; left = Math.floor(left / 2)) {
    if (left % 2 === 1) register = gf2Times(op, register);
    op = gf2Square(op);
  }
  return ~register >>> 0;
}

/** A raw deflate stream of `prefix` then `zeroBytes` zeros (rounded up to 64 MiB), and its crc32 and length. */
export function deflateBomb(prefix: Uint8Array, zeroBytes: number): { data: Buffer; crc: number; size: number } {
  const chunks = Math.max(1, Math.ceil(zeroBytes / CHUNK));
  const head = deflateRawSync(prefix, { finishFlush: constants.Z_FULL_FLUSH });
  const tail = deflateRawSync(Buffer.alloc(0));
  const data = Buffer.concat([head, ...Array.from({ length: chunks }, block), tail]);
  return { data, crc: crcOfZeros(crc32(prefix), chunks * CHUNK), size: prefix.length + chunks * CHUNK };
}

/** A valid gzip file of `prefix` followed by `zeroBytes` zeros (e.g. a NIfTI header and 8 GiB). */
export function gzipBomb(prefix: Uint8Array, zeroBytes: number): { data: Buffer; inflatedBytes: number } {
  const { data, crc, size } = deflateBomb(prefix, zeroBytes);
  const header = Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 2, 3]);
  const trailer = Buffer.alloc(8);
  trailer.writeUInt32LE(crc >>> 0, 0);
  trailer.writeUInt32LE(size % 2 ** 32, 4);
  return { data: Buffer.concat([header, data, trailer]), inflatedBytes: size };
}

export interface RawZipEntry {
  /** Written byte for byte: names no zip library would write (../, backslashes, NUL, absolute). */
  name: string | Buffer;
  /** Stored (method 0) unless `deflated` is given. */
  data?: Buffer;
  deflated?: { data: Buffer; crc: number; size: number };
  /** Declared sizes/CRC that differ from the real ones (a lying entry). */
  declared?: { size?: number; crc?: number };
  /** Point this central directory entry at another entry's local header (overlapping entries). */
  sameDataAs?: number;
}

/** A zip archive written field by field, to say what yauzl and yazl would refuse to write. */
export function rawZip(entries: RawZipEntry[]): Buffer {
  const locals: Buffer[] = [];
  const central: Buffer[] = [];
  const offsets: number[] = [];
  let offset = 0;
  entries.forEach((entry, i) => {
    const name = Buffer.isBuffer(entry.name) ? entry.name : Buffer.from(entry.name, 'utf8');
    const method = entry.deflated ? 8 : 0;
    const body = entry.deflated ? entry.deflated.data : (entry.data ?? Buffer.alloc(0));
    const size = entry.declared?.size ?? (entry.deflated ? entry.deflated.size : body.length);
    const crc = entry.declared?.crc ?? (entry.deflated ? entry.deflated.crc : crc32(body));
    let localOffset: number;
    if (entry.sameDataAs !== undefined) {
      localOffset = offsets[entry.sameDataAs]!;
    } else {
      const local = Buffer.alloc(30);
      local.writeUInt32LE(0x04034b50, 0);
      local.writeUInt16LE(20, 4);
      local.writeUInt16LE(name.some((b) => b >= 0x80) ? 0x0800 : 0, 6);
      local.writeUInt16LE(method, 8);
      local.writeUInt32LE(crc >>> 0, 14);
      local.writeUInt32LE(body.length, 18);
      local.writeUInt32LE(size >>> 0, 22);
      local.writeUInt16LE(name.length, 26);
      localOffset = offset;
      locals.push(local, name, body);
      offset += local.length + name.length + body.length;
    }
    offsets.push(localOffset);
    const dir = Buffer.alloc(46);
    dir.writeUInt32LE(0x02014b50, 0);
    dir.writeUInt16LE(20, 4);
    dir.writeUInt16LE(20, 6);
    dir.writeUInt16LE(name.some((b) => b >= 0x80) ? 0x0800 : 0, 8);
    dir.writeUInt16LE(method, 10);
    dir.writeUInt32LE(crc >>> 0, 16);
    dir.writeUInt32LE(entry.sameDataAs !== undefined ? (entries[entry.sameDataAs]!.deflated?.data.length ?? entries[entry.sameDataAs]!.data?.length ?? 0) : body.length, 20);
    dir.writeUInt32LE(size >>> 0, 24);
    dir.writeUInt16LE(name.length, 28);
    dir.writeUInt32LE(localOffset, 42);
    central.push(dir, name);
    void i;
  });
  const cd = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}

/**
 * A memory bomb for a DICOM parser: `count` distinct private elements of 10 bytes each, so 3 MB
 * on the wire become some 100 MB of parsed objects at 300,000 elements.
 */
export function manyElementsDicom(count: number): Buffer {
  const parts = Buffer.alloc(count * 10);
  for (let i = 0; i < count; i++) {
    const group = 0x0011 + 2 * Math.floor(i / 0xef00);
    const element = 0x1000 + (i % 0xef00);
    const at = i * 10;
    parts.writeUInt16LE(group, at);
    parts.writeUInt16LE(element, at + 2);
    parts.write('LO', at + 4, 'latin1');
    parts.writeUInt16LE(2, at + 6);
    parts.write('ab', at + 8, 'latin1');
  }
  const head = writeDicom([{ tag: 0x0020000d, vr: 'UI', value: '1.2.3.4' }], { sopClassUid: '1.2.840.10008.5.1.4.1.1.7', sopInstanceUid: '1.2.3.4.5' });
  return Buffer.concat([head, parts]);
}
