/**
 * Reads the frame header of an encapsulated frame (JPEG, JPEG-LS, JPEG 2000, RLE) without
 * decoding it, so that ingest can check a compressed image against its DICOM header: a damaged
 * codestream usually shows as a header that disagrees with Rows, Columns or Samples per Pixel.
 */

export type CodestreamFamily = 'jpeg' | 'jpeg2000' | 'rle';

export interface CodestreamHeader {
  family: CodestreamFamily;
  /** 0 when the codestream leaves it to later markers (JPEG DNL). */
  rows: number;
  columns: number;
  components: number;
  /** Bits per sample as the codestream states it (JPEG precision, J2K Ssiz). */
  bits?: number;
  /** RLE only: segments in the frame. */
  segments?: number;
  /** JPEG 2000 only: tiles the image is cut into (SIZ). */
  tiles?: number;
  /** JPEG 2000 only: the first component's samples are signed (Ssiz bit 7). */
  signed?: boolean;
  /** JPEG 2000 only: the codestream came inside a JP2 file (boxes). */
  jp2?: boolean;
}

export class CodestreamError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CodestreamError';
  }
}

const JPEG_SYNTAXES = /^1\.2\.840\.10008\.1\.2\.4\.(5\d|6\d|70|80|81)$/;
const J2K_SYNTAXES = /^1\.2\.840\.10008\.1\.2\.4\.(90|91|92|93|201|202|203)$/;
const RLE_SYNTAX = '1.2.840.10008.1.2.5';

export function codestreamFamily(transferSyntaxUid: string | null | undefined): CodestreamFamily | null {
  if (!transferSyntaxUid) return null;
  if (JPEG_SYNTAXES.test(transferSyntaxUid)) return 'jpeg';
  if (J2K_SYNTAXES.test(transferSyntaxUid)) return 'jpeg2000';
  if (transferSyntaxUid === RLE_SYNTAX) return 'rle';
  return null;
}

const u16 = (b: Uint8Array, at: number) => {
  if (at + 2 > b.length) throw new CodestreamError('codestream ends inside its header');
  return (b[at]! << 8) | b[at + 1]!;
};
const u32 = (b: Uint8Array, at: number) => u16(b, at) * 0x10000 + u16(b, at + 2);

// SOF0-3, 5-7, 9-11, 13-15 (JPEG) and SOF55 (JPEG-LS).
const SOF_MARKERS = new Set([0xc0, 0xc1, 0xc2, 0xc3, 0xc5, 0xc6, 0xc7, 0xc9, 0xca, 0xcb, 0xcd, 0xce, 0xcf, 0xf7]);

function readJpeg(b: Uint8Array): CodestreamHeader {
  if (b[0] !== 0xff || b[1] !== 0xd8) throw new CodestreamError('JPEG frame does not start with SOI');
  let at = 2;
  while (at < b.length) {
    if (b[at] !== 0xff) throw new CodestreamError(`JPEG marker expected at byte ${at}`);
    while (b[at] === 0xff) at++; // fill bytes
    const marker = b[at++];
    if (marker === undefined) break;
    if (marker === 0xd9 || marker === 0xda) throw new CodestreamError('JPEG frame has no frame header (SOF)');
    if ((marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) continue; // no length
    const length = u16(b, at);
    if (length < 2) throw new CodestreamError('JPEG marker segment with an impossible length');
    if (SOF_MARKERS.has(marker)) {
      return { family: 'jpeg', bits: b[at + 2], rows: u16(b, at + 3), columns: u16(b, at + 5), components: b[at + 7] ?? 0 };
    }
    at += length;
  }
  throw new CodestreamError('JPEG frame ends before its frame header (SOF)');
}

function isJp2File(b: Uint8Array): boolean {
  return b.length >= 12 && u32(b, 0) === 12 && u32(b, 4) === 0x6a502020;
}

/**
 * JP2 files wrap the codestream in boxes; the codestream is the payload of the 'jp2c' box. A raw
 * codestream is answered as it is; throws CodestreamError for a JP2 file without one.
 */
export function unwrapJp2(b: Uint8Array): Uint8Array {
  if (!isJp2File(b)) return b;
  let at = 0;
  while (at + 8 <= b.length) {
    let length = u32(b, at);
    const type = u32(b, at + 4);
    let header = 8;
    if (length === 1) {
      length = u32(b, at + 8) * 2 ** 32 + u32(b, at + 12);
      header = 16;
    } else if (length === 0) {
      length = b.length - at;
    }
    if (length < header) throw new CodestreamError('JP2 box with an impossible length');
    if (type === 0x6a703263) return b.subarray(at + header, Math.min(b.length, at + length));
    at += length;
  }
  throw new CodestreamError('JP2 file without a codestream box');
}

function readJpeg2000(input: Uint8Array): CodestreamHeader {
  const b = unwrapJp2(input);
  if (u16(b, 0) !== 0xff4f || u16(b, 2) !== 0xff51) throw new CodestreamError('JPEG 2000 codestream does not start with SOC, SIZ');
  const lsiz = u16(b, 4);
  const xsiz = u32(b, 8);
  const ysiz = u32(b, 12);
  const xosiz = u32(b, 16);
  const yosiz = u32(b, 20);
  const csiz = u16(b, 40);
  if (csiz < 1 || csiz > 16384 || lsiz !== 38 + 3 * csiz) throw new CodestreamError('JPEG 2000 SIZ marker is inconsistent');
  if (xsiz <= xosiz || ysiz <= yosiz) throw new CodestreamError('JPEG 2000 SIZ marker gives an empty image');
  const ssiz = b[42];
  const [xtsiz, ytsiz, xtosiz, ytosiz] = [u32(b, 24), u32(b, 28), u32(b, 32), u32(b, 36)];
  const tiles = xtsiz > 0 && ytsiz > 0 ? Math.ceil((xsiz - xtosiz) / xtsiz) * Math.ceil((ysiz - ytosiz) / ytsiz) : undefined;
  return {
    family: 'jpeg2000',
    columns: xsiz - xosiz,
    rows: ysiz - yosiz,
    components: csiz,
    bits: ssiz === undefined ? undefined : (ssiz & 0x7f) + 1,
    signed: ssiz === undefined ? undefined : (ssiz & 0x80) !== 0,
    tiles,
    jp2: isJp2File(input),
  };
}

function readRle(b: Uint8Array): CodestreamHeader {
  if (b.length < 64) throw new CodestreamError('RLE frame shorter than its 64-byte header');
  const le32 = (at: number) => (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16)) + b[at + 3]! * 0x1000000;
  const segments = le32(0);
  if (segments < 1 || segments > 15) throw new CodestreamError(`RLE header declares ${segments} segments`);
  let previous = 0;
  for (let i = 0; i < segments; i++) {
    const offset = le32(4 + i * 4);
    if ((i === 0 && offset !== 64) || offset < previous || offset >= b.length) throw new CodestreamError('RLE segment offsets are out of order or out of range');
    previous = offset;
  }
  return { family: 'rle', rows: 0, columns: 0, components: 0, segments };
}

/** The header of one encapsulated frame (its first fragment suffices); throws CodestreamError. */
export function readCodestreamHeader(frame: Uint8Array, family: CodestreamFamily): CodestreamHeader {
  if (family === 'jpeg') return readJpeg(frame);
  if (family === 'jpeg2000') return readJpeg2000(frame);
  return readRle(frame);
}
