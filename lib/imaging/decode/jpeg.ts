/**
 * JPEG decoder for the DICOM JPEG processes that the WASM libjpeg-turbo build cannot handle or
 * cannot be told how to handle: Huffman sequential DCT at 8 and 12 bits (processes 1, 2 and 4:
 * SOF0, SOF1) and Huffman lossless (process 14: SOF3, selection values 1-7).
 *
 * The DCT path follows libjpeg's defaults bit for bit (the integer "islow" IDCT of jidctint.c,
 * its range limiting, fancy h2v1/h2v2 upsampling and its YCbCr tables), so 8-bit output equals
 * libjpeg-turbo's and 12-bit output equals what GDCM's IJG build gives pydicom. It is written
 * here, rather than borrowed, because (1) no npm decoder does 12-bit, (2) the colour transform
 * must follow the DICOM Photometric Interpretation instead of libjpeg's JFIF/Adobe guess, and
 * (3) running out of data must be an error, not a grey image (jpeg-lossless-decoder-js returns
 * garbage for a truncated stream).
 *
 * Every loop is bounded by the frame size from the SOF header, which the caller checks against
 * the DICOM header before anything is allocated.
 */
import type { Allocate } from '../scratch';
import { CodecError } from './errors';

export interface JpegImage {
  width: number;
  height: number;
  components: number;
  precision: number;
  lossless: boolean;
  /** Samples interleaved; Uint8Array for 8-bit DCT, Uint16Array otherwise. */
  data: Uint8Array | Uint16Array;
  /** True when YCbCr was converted to RGB. */
  converted: boolean;
}

/**
 * `convert`: the components are YCbCr (DICOM says YBR_FULL / YBR_FULL_422), give RGB.
 * `keep`: give the components as coded.
 * `auto`: convert only when the stream itself says YCbCr (JFIF APP0, Adobe transform 1).
 */
export type ColourHandling = 'convert' | 'keep' | 'auto';

export interface JpegOptions {
  colour: ColourHandling;
  /** Refuse a frame header that disagrees, before allocating anything. */
  expect?: { width: number; height: number; components: number };
  /** Where sample planes and output come from (zeroed memory; default: new arrays). */
  allocate?: Allocate;
}

interface HuffmanTable {
  /** 9-bit lookahead: (code length << 8) | symbol, 0 when the code is longer. */
  lookup: Uint16Array;
  maxcode: Int32Array;
  valptr: Int32Array;
  mincode: Int32Array;
  values: Uint8Array;
  /** Lossless only, built on first use: see losslessFastTable. */
  losslessFast?: Int32Array;
}

interface FrameComponent {
  id: number;
  h: number;
  v: number;
  tq: number;
  /** Blocks (DCT) or samples (lossless) per line and column of the component's plane. */
  blocksPerLine: number;
  blocksPerColumn: number;
  /** Size of the component in samples (PS3.10 A.1.1: ceil(X * h / Hmax)). */
  width: number;
  height: number;
  plane: Uint8Array | Uint16Array;
  stride: number;
  dcPred: number;
  dcTable?: HuffmanTable;
  acTable?: HuffmanTable;
}

interface Frame {
  kind: 'dct' | 'lossless';
  precision: number;
  width: number;
  height: number;
  components: FrameComponent[];
  hmax: number;
  vmax: number;
  mcusPerLine: number;
  mcusPerColumn: number;
}

const LOOKAHEAD = 9;

// prettier-ignore
const ZIGZAG = new Uint8Array([
  0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21, 28,
  35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
]);

const corrupt = (message: string): never => {
  throw new CodecError(message);
};
const unsupported = (message: string): never => {
  throw new CodecError(message, true);
};

function buildHuffman(counts: Uint8Array, values: Uint8Array): HuffmanTable {
  const maxcode = new Int32Array(18).fill(-1);
  const valptr = new Int32Array(17);
  const mincode = new Int32Array(17);
  const lookup = new Uint16Array(1 << LOOKAHEAD);
  let code = 0;
  let k = 0;
  for (let length = 1; length <= 16; length++) {
    const n = counts[length - 1]!;
    valptr[length] = k;
    mincode[length] = code;
    for (let i = 0; i < n; i++, code++, k++) {
      if (length <= LOOKAHEAD) {
        const shift = LOOKAHEAD - length;
        const entry = (length << 8) | values[k]!;
        const first = code << shift;
        lookup.fill(entry, first, first + (1 << shift));
      }
    }
    if (n > 0) maxcode[length] = code - 1;
    if (code > 1 << length) corrupt('JPEG Huffman table has more codes than fit');
    code <<= 1;
  }
  maxcode[17] = 0x7fffffff;
  return { lookup, maxcode, valptr, mincode, values };
}

const FAST_BITS = 12;
const FAST_MASK = (1 << FAST_BITS) - 1;

/**
 * For lossless scans: indexed by the next FAST_BITS bits of the stream, the difference they
 * start with when its Huffman code and extra bits fit in them, as (difference << 5) | bits
 * used; 0 otherwise (longer codes, invalid categories), which sends the decoder the slow way.
 */
function losslessFastTable(table: HuffmanTable): Int32Array {
  const fast = new Int32Array(1 << FAST_BITS);
  for (let length = 1; length <= FAST_BITS; length++) {
    if (table.maxcode[length]! < 0) continue;
    for (let code = table.mincode[length]!; code <= table.maxcode[length]!; code++) {
      const t = table.values[table.valptr[length]! + code - table.mincode[length]!]!;
      if (t > 16) continue;
      const extra = t === 16 ? 0 : t;
      const used = length + extra;
      if (used > FAST_BITS) continue;
      for (let value = 0; value < 1 << extra; value++) {
        const diff = t === 0 ? 0 : t === 16 ? 32768 : value < 1 << (t - 1) ? value - (1 << t) + 1 : value;
        const first = ((code << extra) | value) << (FAST_BITS - used);
        fast.fill((diff << 5) | used, first, first + (1 << (FAST_BITS - used)));
      }
    }
  }
  return fast;
}

/** libjpeg's ycc_rgb_convert tables (jdcolor.c) at the frame's precision. */
function colourTables(precision: number) {
  const max = (1 << precision) - 1;
  const center = 1 << (precision - 1);
  const fix = (x: number) => Math.round(x * 65536);
  const crR = new Int32Array(max + 1);
  const cbB = new Int32Array(max + 1);
  const crG = new Int32Array(max + 1);
  const cbG = new Int32Array(max + 1);
  for (let i = 0; i <= max; i++) {
    const x = i - center;
    crR[i] = (fix(1.402) * x + 32768) >> 16;
    cbB[i] = (fix(1.772) * x + 32768) >> 16;
    crG[i] = -fix(0.71414) * x;
    cbG[i] = -fix(0.34414) * x + 32768;
  }
  return { crR, cbB, crG, cbG, max };
}

// Fixed-point constants of jidctint.c (CONST_BITS = 13).
const CONST_BITS = 13;
const FIX_0_298631336 = 2446;
const FIX_0_390180644 = 3196;
const FIX_0_541196100 = 4433;
const FIX_0_765366865 = 6270;
const FIX_0_899976223 = 7373;
const FIX_1_175875602 = 9633;
const FIX_1_501321110 = 12299;
const FIX_1_847759065 = 15137;
const FIX_1_961570560 = 16069;
const FIX_2_053119869 = 16819;
const FIX_2_562915447 = 20995;
const FIX_3_072711026 = 25172;

/**
 * libjpeg's post-IDCT range limit: values wrap through a table of 4 * (MAXJSAMPLE + 1) entries
 * (jdmaster.c prepare_range_limit_table), which is not a plain clamp for far-out values.
 */
function makeRangeLimit(precision: number): Int32Array {
  const max = (1 << precision) - 1;
  const center = 1 << (precision - 1);
  const size = 4 * (max + 1);
  const table = new Int32Array(size);
  for (let idx = 0; idx < size; idx++) {
    if (idx < center) table[idx] = idx + center;
    else if (idx < 2 * (max + 1)) table[idx] = max;
    else if (idx < size - center) table[idx] = 0;
    else table[idx] = idx - size + center;
  }
  return table;
}

/** jpeg_idct_islow on dequantised coefficients, writing 8 x 8 samples into `out`. */
function idctIslow(coef: Int32Array, ws: Int32Array, pass1: number, limit: Int32Array, out: Uint8Array | Uint16Array, at: number, stride: number): void {
  const mask = limit.length - 1;
  const sh1 = CONST_BITS - pass1;
  const rnd1 = 1 << (sh1 - 1);
  for (let c = 0; c < 8; c++) {
    const c0 = coef[c]!;
    const c1 = coef[8 + c]!;
    const c2 = coef[16 + c]!;
    const c3 = coef[24 + c]!;
    const c4 = coef[32 + c]!;
    const c5 = coef[40 + c]!;
    const c6 = coef[48 + c]!;
    const c7 = coef[56 + c]!;
    if ((c1 | c2 | c3 | c4 | c5 | c6 | c7) === 0) {
      const dc = c0 << pass1;
      for (let r = 0; r < 64; r += 8) ws[r + c] = dc;
      continue;
    }
    let z1 = Math.imul(c2 + c6, FIX_0_541196100);
    let tmp2 = z1 + Math.imul(c6, -FIX_1_847759065);
    let tmp3 = z1 + Math.imul(c2, FIX_0_765366865);
    let tmp0 = (c0 + c4) << CONST_BITS;
    let tmp1 = (c0 - c4) << CONST_BITS;
    const tmp10 = tmp0 + tmp3;
    const tmp13 = tmp0 - tmp3;
    const tmp11 = tmp1 + tmp2;
    const tmp12 = tmp1 - tmp2;
    z1 = c7 + c1;
    let z2 = c5 + c3;
    let z3 = c7 + c3;
    let z4 = c5 + c1;
    const z5 = Math.imul(z3 + z4, FIX_1_175875602);
    tmp0 = Math.imul(c7, FIX_0_298631336);
    tmp1 = Math.imul(c5, FIX_2_053119869);
    tmp2 = Math.imul(c3, FIX_3_072711026);
    tmp3 = Math.imul(c1, FIX_1_501321110);
    z1 = Math.imul(z1, -FIX_0_899976223);
    z2 = Math.imul(z2, -FIX_2_562915447);
    z3 = Math.imul(z3, -FIX_1_961570560) + z5;
    z4 = Math.imul(z4, -FIX_0_390180644) + z5;
    tmp0 += z1 + z3;
    tmp1 += z2 + z4;
    tmp2 += z2 + z3;
    tmp3 += z1 + z4;
    ws[c] = (tmp10 + tmp3 + rnd1) >> sh1;
    ws[56 + c] = (tmp10 - tmp3 + rnd1) >> sh1;
    ws[8 + c] = (tmp11 + tmp2 + rnd1) >> sh1;
    ws[48 + c] = (tmp11 - tmp2 + rnd1) >> sh1;
    ws[16 + c] = (tmp12 + tmp1 + rnd1) >> sh1;
    ws[40 + c] = (tmp12 - tmp1 + rnd1) >> sh1;
    ws[24 + c] = (tmp13 + tmp0 + rnd1) >> sh1;
    ws[32 + c] = (tmp13 - tmp0 + rnd1) >> sh1;
  }
  const sh2 = CONST_BITS + pass1 + 3;
  const rnd2 = 1 << (sh2 - 1);
  const shDc = pass1 + 3;
  const rndDc = 1 << (shDc - 1);
  for (let r = 0; r < 64; r += 8, at += stride) {
    const w0 = ws[r]!;
    const w1 = ws[r + 1]!;
    const w2 = ws[r + 2]!;
    const w3 = ws[r + 3]!;
    const w4 = ws[r + 4]!;
    const w5 = ws[r + 5]!;
    const w6 = ws[r + 6]!;
    const w7 = ws[r + 7]!;
    if ((w1 | w2 | w3 | w4 | w5 | w6 | w7) === 0) {
      out.fill(limit[((w0 + rndDc) >> shDc) & mask]!, at, at + 8);
      continue;
    }
    let z1 = Math.imul(w2 + w6, FIX_0_541196100);
    let tmp2 = z1 + Math.imul(w6, -FIX_1_847759065);
    let tmp3 = z1 + Math.imul(w2, FIX_0_765366865);
    let tmp0 = (w0 + w4) << CONST_BITS;
    let tmp1 = (w0 - w4) << CONST_BITS;
    const tmp10 = tmp0 + tmp3;
    const tmp13 = tmp0 - tmp3;
    const tmp11 = tmp1 + tmp2;
    const tmp12 = tmp1 - tmp2;
    z1 = w7 + w1;
    let z2 = w5 + w3;
    let z3 = w7 + w3;
    let z4 = w5 + w1;
    const z5 = Math.imul(z3 + z4, FIX_1_175875602);
    tmp0 = Math.imul(w7, FIX_0_298631336);
    tmp1 = Math.imul(w5, FIX_2_053119869);
    tmp2 = Math.imul(w3, FIX_3_072711026);
    tmp3 = Math.imul(w1, FIX_1_501321110);
    z1 = Math.imul(z1, -FIX_0_899976223);
    z2 = Math.imul(z2, -FIX_2_562915447);
    z3 = Math.imul(z3, -FIX_1_961570560) + z5;
    z4 = Math.imul(z4, -FIX_0_390180644) + z5;
    tmp0 += z1 + z3;
    tmp1 += z2 + z4;
    tmp2 += z2 + z3;
    tmp3 += z1 + z4;
    out[at] = limit[((tmp10 + tmp3 + rnd2) >> sh2) & mask]!;
    out[at + 7] = limit[((tmp10 - tmp3 + rnd2) >> sh2) & mask]!;
    out[at + 1] = limit[((tmp11 + tmp2 + rnd2) >> sh2) & mask]!;
    out[at + 6] = limit[((tmp11 - tmp2 + rnd2) >> sh2) & mask]!;
    out[at + 2] = limit[((tmp12 + tmp1 + rnd2) >> sh2) & mask]!;
    out[at + 5] = limit[((tmp12 - tmp1 + rnd2) >> sh2) & mask]!;
    out[at + 3] = limit[((tmp13 + tmp0 + rnd2) >> sh2) & mask]!;
    out[at + 4] = limit[((tmp13 - tmp0 + rnd2) >> sh2) & mask]!;
  }
}

class JpegDecoder {
  private pos = 0;
  private acc = 0;
  private nbits = 0;
  private readonly dcTables: Array<HuffmanTable | undefined> = [];
  private readonly acTables: Array<HuffmanTable | undefined> = [];
  private readonly quantTables: Array<Int32Array | undefined> = [];
  private restartInterval = 0;
  private frame: Frame | null = null;
  private jfif = false;
  private adobeTransform: number | null = null;

  constructor(
    private readonly data: Uint8Array,
    private readonly options: JpegOptions,
  ) {}

  decode(): JpegImage {
    const data = this.data;
    if (data[0] !== 0xff || data[1] !== 0xd8) corrupt('JPEG frame does not start with SOI');
    this.pos = 2;
    let scans = 0;
    for (;;) {
      const marker = this.nextMarker();
      if (marker === null) {
        if (scans > 0) break; // EOI missing after complete scans: tolerated, as libjpeg does.
        return corrupt('JPEG data ends before its first scan');
      }
      if (marker === 0xd9) break;
      if (marker >= 0xd0 && marker <= 0xd7) continue;
      if (marker === 0x01) continue;
      const segment = this.segment();
      switch (marker) {
        case 0xc0:
        case 0xc1:
        case 0xc3:
          this.readFrame(marker, segment);
          break;
        case 0xc4:
          this.readHuffmanTables(segment);
          break;
        case 0xdb:
          this.readQuantTables(segment);
          break;
        case 0xdd:
          if (segment.length < 2) corrupt('JPEG DRI segment is too short');
          this.restartInterval = (segment[0]! << 8) | segment[1]!;
          break;
        case 0xda:
          this.readScan(segment);
          scans++;
          break;
        case 0xe0:
          if (segment.length >= 5 && String.fromCharCode(...segment.subarray(0, 5)) === 'JFIF\0') this.jfif = true;
          break;
        case 0xee:
          if (segment.length >= 12 && String.fromCharCode(...segment.subarray(0, 5)) === 'Adobe') this.adobeTransform = segment[11]!;
          break;
        case 0xdc:
          unsupported('JPEG DNL marker is not supported');
          break;
        case 0xc2:
        case 0xc5:
        case 0xc6:
        case 0xc7:
        case 0xc9:
        case 0xca:
        case 0xcb:
        case 0xcd:
        case 0xce:
        case 0xcf:
          unsupported(`JPEG process with SOF marker 0xFF${marker.toString(16).toUpperCase()} is not supported by this decoder`);
          break;
        case 0xf7:
          unsupported('a JPEG-LS stream is not a JPEG stream');
          break;
        default:
          break; // APPn, COM and the rest carry nothing needed for decoding.
      }
    }
    if (!this.frame) return corrupt('JPEG data has no frame header');
    return this.output(this.frame);
  }

  /** The next marker code from `pos` (skipping fill bytes and stray data); null at the end. */
  private nextMarker(): number | null {
    const data = this.data;
    while (this.pos + 1 < data.length) {
      if (data[this.pos] !== 0xff) {
        this.pos++;
        continue;
      }
      let at = this.pos + 1;
      while (at < data.length && data[at] === 0xff) at++;
      if (at >= data.length) return null;
      const marker = data[at]!;
      this.pos = at + 1;
      if (marker !== 0x00) return marker;
    }
    return null;
  }

  private segment(): Uint8Array {
    const data = this.data;
    if (this.pos + 2 > data.length) corrupt('JPEG marker segment runs past the end of the data');
    const length = (data[this.pos]! << 8) | data[this.pos + 1]!;
    if (length < 2 || this.pos + length > data.length) corrupt('JPEG marker segment runs past the end of the data');
    const segment = data.subarray(this.pos + 2, this.pos + length);
    this.pos += length;
    return segment;
  }

  private readFrame(marker: number, s: Uint8Array): void {
    if (this.frame) unsupported('JPEG data with more than one frame header (hierarchical) is not supported');
    if (s.length < 6) corrupt('JPEG frame header is too short');
    const precision = s[0]!;
    const height = (s[1]! << 8) | s[2]!;
    const width = (s[3]! << 8) | s[4]!;
    const count = s[5]!;
    const lossless = marker === 0xc3;
    if (lossless ? precision < 2 || precision > 16 : precision !== 8 && precision !== 12) corrupt(`JPEG precision ${precision} is not valid for this process`);
    if (height === 0) unsupported('JPEG frames whose height comes in a DNL marker are not supported');
    if (width === 0 || count < 1 || count > 4 || s.length < 6 + count * 3) corrupt('JPEG frame header is inconsistent');
    const expect = this.options.expect;
    if (expect && (expect.width !== width || expect.height !== height || expect.components !== count)) {
      corrupt(`JPEG frame is ${width} x ${height} with ${count} component(s); the DICOM header says ${expect.width} x ${expect.height} with ${expect.components}`);
    }
    const components: FrameComponent[] = [];
    for (let i = 0; i < count; i++) {
      const h = s[7 + i * 3]! >> 4;
      const v = s[7 + i * 3]! & 15;
      if (h < 1 || h > 4 || v < 1 || v > 4) corrupt('JPEG sampling factors out of range');
      components.push({ id: s[6 + i * 3]!, h, v, tq: s[8 + i * 3]!, blocksPerLine: 0, blocksPerColumn: 0, width: 0, height: 0, plane: new Uint8Array(0), stride: 0, dcPred: 0 });
    }
    // A single-component frame is never interleaved, so its sampling factors do not matter.
    if (count === 1) components[0]!.h = components[0]!.v = 1;
    const hmax = Math.max(...components.map((c) => c.h));
    const vmax = Math.max(...components.map((c) => c.v));
    const unit = lossless ? 1 : 8;
    const mcusPerLine = Math.ceil(width / (unit * hmax));
    const mcusPerColumn = Math.ceil(height / (unit * vmax));
    if (lossless && (hmax > 1 || vmax > 1)) unsupported('lossless JPEG with subsampled components is not supported');
    for (const c of components) {
      c.width = Math.ceil((width * c.h) / hmax);
      c.height = Math.ceil((height * c.v) / vmax);
      c.blocksPerLine = mcusPerLine * c.h;
      c.blocksPerColumn = mcusPerColumn * c.v;
      c.stride = c.blocksPerLine * unit;
      const size = c.stride * c.blocksPerColumn * unit;
      c.plane = lossless || precision > 8 ? this.uint16(size) : this.uint8(size);
    }
    this.frame = { kind: lossless ? 'lossless' : 'dct', precision, width, height, components, hmax, vmax, mcusPerLine, mcusPerColumn };
  }

  private readHuffmanTables(s: Uint8Array): void {
    let at = 0;
    while (at < s.length) {
      if (at + 17 > s.length) corrupt('JPEG Huffman table segment is too short');
      const tc = s[at]! >> 4;
      const th = s[at]! & 15;
      const counts = s.subarray(at + 1, at + 17);
      const total = counts.reduce((sum, n) => sum + n, 0);
      if (tc > 1 || th > 3 || total > 256 || at + 17 + total > s.length) corrupt('JPEG Huffman table is invalid');
      const table = buildHuffman(counts, s.subarray(at + 17, at + 17 + total));
      (tc === 0 ? this.dcTables : this.acTables)[th] = table;
      at += 17 + total;
    }
  }

  private readQuantTables(s: Uint8Array): void {
    let at = 0;
    while (at < s.length) {
      const pq = s[at]! >> 4;
      const tq = s[at]! & 15;
      const size = pq ? 128 : 64;
      if (pq > 1 || tq > 3 || at + 1 + size > s.length) corrupt('JPEG quantisation table is invalid');
      const table = new Int32Array(64);
      for (let k = 0; k < 64; k++) table[k] = pq ? (s[at + 1 + 2 * k]! << 8) | s[at + 2 + 2 * k]! : s[at + 1 + k]!;
      this.quantTables[tq] = table;
      at += 1 + size;
    }
  }

  private readScan(s: Uint8Array): void {
    const frame = this.frame;
    if (!frame) return corrupt('JPEG scan before the frame header');
    const count = s[0] ?? 0;
    if (count < 1 || count > 4 || s.length < 4 + count * 2) corrupt('JPEG scan header is invalid');
    const components: FrameComponent[] = [];
    for (let i = 0; i < count; i++) {
      const id = s[1 + i * 2]!;
      const tables = s[2 + i * 2]!;
      const component = frame.components.find((c) => c.id === id) ?? corrupt(`JPEG scan names component ${id}, which the frame does not have`);
      component.dcTable = this.dcTables[tables >> 4] ?? corrupt('JPEG scan uses an undefined Huffman table');
      if (frame.kind === 'dct') component.acTable = this.acTables[tables & 15] ?? corrupt('JPEG scan uses an undefined Huffman table');
      component.dcPred = 0;
      components.push(component);
    }
    const ss = s[1 + count * 2]!;
    const al = s[3 + count * 2]! & 15;
    this.acc = 0;
    this.nbits = 0;
    if (frame.kind === 'lossless') {
      if (ss < 1 || ss > 7) corrupt(`JPEG lossless predictor ${ss} is not valid`);
      if (al >= frame.precision) corrupt('JPEG lossless point transform is not smaller than the precision');
      this.decodeLosslessScan(frame, components, ss, al);
    } else {
      for (const c of components) if (!this.quantTables[c.tq]) corrupt('JPEG component uses an undefined quantisation table');
      this.decodeDctScan(frame, components);
    }
    this.acc = 0;
    this.nbits = 0;
  }

  // --- entropy-coded data ---

  private fill(): void {
    const data = this.data;
    while (this.nbits <= 16) {
      const pos = this.pos;
      if (pos >= data.length) return;
      const byte = data[pos]!;
      if (byte === 0xff) {
        if (data[pos + 1] !== 0x00) return; // a marker: the segment's data ends here
        this.pos = pos + 2;
      } else {
        this.pos = pos + 1;
      }
      this.acc = ((this.acc << 8) | byte) >>> 0;
      this.nbits += 8;
    }
  }

  private bits(n: number): number {
    if (n === 0) return 0;
    if (this.nbits < n) {
      this.fill();
      if (this.nbits < n) corrupt('JPEG entropy-coded data ends early (truncated or damaged frame)');
    }
    this.nbits -= n;
    const value = (this.acc >>> this.nbits) & ((1 << n) - 1);
    this.acc &= (1 << this.nbits) - 1;
    return value;
  }

  private huffman(table: HuffmanTable): number {
    if (this.nbits < 16) this.fill();
    if (this.nbits >= LOOKAHEAD) {
      const entry = table.lookup[(this.acc >>> (this.nbits - LOOKAHEAD)) & ((1 << LOOKAHEAD) - 1)]!;
      if (entry) {
        this.nbits -= entry >> 8;
        this.acc &= (1 << this.nbits) - 1;
        return entry & 0xff;
      }
    }
    let code = 0;
    for (let length = 1; length <= 16; length++) {
      code = (code << 1) | this.bits(1);
      if (code <= table.maxcode[length]!) return table.values[table.valptr[length]! + code - table.mincode[length]!] ?? corrupt('JPEG Huffman code out of range');
    }
    return corrupt('JPEG data holds an invalid Huffman code');
  }

  private receiveExtend(size: number): number {
    if (size === 0) return 0;
    if (size > 16) corrupt('JPEG coefficient category out of range');
    const value = this.bits(size);
    return value < 1 << (size - 1) ? value - (1 << size) + 1 : value;
  }

  /** At a restart boundary: drop the padding bits and expect RSTn. */
  private restart(): void {
    this.acc = 0;
    this.nbits = 0;
    const data = this.data;
    let at = this.pos;
    if (data[at] !== 0xff) corrupt('JPEG restart marker missing');
    while (data[at] === 0xff) at++;
    const marker = data[at];
    if (marker === undefined || marker < 0xd0 || marker > 0xd7) corrupt('JPEG restart marker missing');
    this.pos = at + 1;
  }

  private decodeDctScan(frame: Frame, components: FrameComponent[]): void {
    const coef = new Int32Array(64);
    const ws = new Int32Array(64);
    const pass1 = frame.precision === 8 ? 2 : 1;
    const limit = makeRangeLimit(frame.precision);
    const single = components.length === 1;
    const first = components[0]!;
    const mcusPerLine = single ? Math.ceil(first.width / 8) : frame.mcusPerLine;
    const mcusPerColumn = single ? Math.ceil(first.height / 8) : frame.mcusPerColumn;
    const total = mcusPerLine * mcusPerColumn;
    const interval = this.restartInterval;

    const block = (c: FrameComponent, row: number, col: number) => {
      coef.fill(0);
      const qt = this.quantTables[c.tq]!;
      const t = this.huffman(c.dcTable!);
      c.dcPred += this.receiveExtend(t);
      coef[0] = Math.imul(c.dcPred, qt[0]!);
      const ac = c.acTable!;
      for (let k = 1; k < 64; k++) {
        const rs = this.huffman(ac);
        const size = rs & 15;
        const run = rs >> 4;
        if (size === 0) {
          if (run !== 15) break;
          k += 15;
          continue;
        }
        k += run;
        if (k > 63) corrupt('JPEG block has more than 64 coefficients');
        coef[ZIGZAG[k]!] = Math.imul(this.receiveExtend(size), qt[k]!);
      }
      idctIslow(coef, ws, pass1, limit, c.plane, row * 8 * c.stride + col * 8, c.stride);
    };

    for (let mcu = 0; mcu < total; mcu++) {
      if (interval && mcu > 0 && mcu % interval === 0) {
        this.restart();
        for (const c of components) c.dcPred = 0;
      }
      const mcuRow = Math.floor(mcu / mcusPerLine);
      const mcuCol = mcu - mcuRow * mcusPerLine;
      if (single) {
        block(first, mcuRow, mcuCol);
        continue;
      }
      for (const c of components) {
        for (let v = 0; v < c.v; v++) {
          for (let h = 0; h < c.h; h++) block(c, mcuRow * c.v + v, mcuCol * c.h + h);
        }
      }
    }
  }

  private decodeLosslessScan(frame: Frame, components: FrameComponent[], predictor: number, pointTransform: number): void {
    if (components.length === 1 && !this.restartInterval) {
      this.decodeLosslessSingle(frame, components[0]!, predictor, pointTransform);
    } else {
      this.decodeLosslessGeneral(frame, components, predictor, pointTransform);
    }
    if (pointTransform > 0) {
      for (const c of components) {
        const plane = c.plane;
        for (let i = 0; i < plane.length; i++) plane[i] = (plane[i]! << pointTransform) & 0xffff;
      }
    }
  }

  /**
   * The common case (one component, no restart intervals: CT, MR, CR…) with the bit reader in
   * locals, which is several times faster than going through `this` for every sample. Most
   * samples take one look-up in a table that gives the difference itself (Huffman code and
   * extra bits together, see losslessFastTable); the rest take the steps of huffman() and
   * receiveExtend(), so results and errors are the same as decodeLosslessGeneral's.
   */
  private decodeLosslessSingle(frame: Frame, c: FrameComponent, predictor: number, pointTransform: number): void {
    const width = frame.width;
    const height = frame.height;
    const plane = c.plane as Uint16Array;
    const stride = c.stride;
    const table = c.dcTable!;
    const fast = (table.losslessFast ??= losslessFastTable(table));
    const data = this.data;
    const length = data.length;
    const initial = 1 << (frame.precision - pointTransform - 1);
    let pos = this.pos;
    let acc = this.acc;
    let nbits = this.nbits;
    for (let y = 0; y < height; y++) {
      const row = y * stride;
      // Rows after the first predict from the left only with predictor 1 (the .70 syntax).
      const leftOnly = y === 0 || predictor === 1;
      let left = 0;
      for (let x = 0; x < width; x++) {
        // fill(): top up past 16 bits unless a marker or the end of the data comes first. Bits
        // above nbits in acc are stale (acc is not masked here); every read below masks them.
        if (nbits < FAST_BITS) {
          while (nbits <= 16 && pos < length) {
            const byte = data[pos]!;
            if (byte === 0xff) {
              if (data[pos + 1] !== 0x00) break;
              pos += 2;
            } else {
              pos++;
            }
            acc = ((acc << 8) | byte) >>> 0;
            nbits += 8;
          }
        }
        let diff: number;
        const entry = nbits >= FAST_BITS ? fast[(acc >>> (nbits - FAST_BITS)) & FAST_MASK]! : 0;
        if (entry !== 0) {
          nbits -= entry & 31;
          diff = entry >> 5;
        } else {
          this.pos = pos;
          this.acc = (acc & ((1 << nbits) - 1)) >>> 0;
          this.nbits = nbits;
          const t = this.huffman(table);
          diff = t === 16 ? 32768 : this.receiveExtend(t);
          pos = this.pos;
          acc = this.acc;
          nbits = this.nbits;
        }
        const at = row + x;
        let prediction: number;
        if (x === 0) {
          prediction = y === 0 ? initial : plane[at - stride]!;
        } else if (leftOnly) {
          prediction = left;
        } else {
          switch (predictor) {
            case 2:
              prediction = plane[at - stride]!;
              break;
            case 3:
              prediction = plane[at - stride - 1]!;
              break;
            case 4:
              prediction = left + plane[at - stride]! - plane[at - stride - 1]!;
              break;
            case 5:
              prediction = left + ((plane[at - stride]! - plane[at - stride - 1]!) >> 1);
              break;
            case 6:
              prediction = plane[at - stride]! + ((left - plane[at - stride - 1]!) >> 1);
              break;
            default:
              prediction = (left + plane[at - stride]!) >> 1;
              break;
          }
        }
        left = (prediction + diff) & 0xffff;
        plane[at] = left;
      }
    }
    this.pos = pos;
    this.acc = (acc & ((1 << nbits) - 1)) >>> 0;
    this.nbits = nbits;
  }

  private decodeLosslessGeneral(frame: Frame, components: FrameComponent[], predictor: number, pointTransform: number): void {
    const width = frame.width;
    const height = frame.height;
    const interval = this.restartInterval;
    const initial = 1 << (frame.precision - pointTransform - 1);
    const planes = components.map((c) => c.plane as Uint16Array);
    const strides = components.map((c) => c.stride);
    let mcu = 0;
    // Rows that start a scan or follow a restart are predicted from the left only (H.1.2.1).
    let firstRowFrom = 0;
    let firstRowOf = 0;
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++, mcu++) {
        let restarted = false;
        if (interval && mcu > 0 && mcu % interval === 0) {
          this.restart();
          restarted = true;
          firstRowOf = y;
          firstRowFrom = x;
        }
        for (let i = 0; i < components.length; i++) {
          const plane = planes[i]!;
          const stride = strides[i]!;
          const at = y * stride + x;
          const t = this.huffman(components[i]!.dcTable!);
          const diff = t === 16 ? 32768 : this.receiveExtend(t);
          let prediction: number;
          if ((y === 0 && x === 0) || restarted) {
            prediction = initial;
          } else if (y === firstRowOf && x > firstRowFrom) {
            prediction = plane[at - 1]!;
          } else if (y === firstRowOf || x === 0) {
            prediction = y === firstRowOf ? initial : plane[at - stride]!;
          } else {
            const ra = plane[at - 1]!;
            const rb = plane[at - stride]!;
            const rc = plane[at - stride - 1]!;
            switch (predictor) {
              case 1:
                prediction = ra;
                break;
              case 2:
                prediction = rb;
                break;
              case 3:
                prediction = rc;
                break;
              case 4:
                prediction = ra + rb - rc;
                break;
              case 5:
                prediction = ra + ((rb - rc) >> 1);
                break;
              case 6:
                prediction = rb + ((ra - rc) >> 1);
                break;
              default:
                prediction = (ra + rb) >> 1;
                break;
            }
          }
          plane[at] = (prediction + diff) & 0xffff;
        }
      }
    }
  }

  private uint8(length: number): Uint8Array {
    const allocate = this.options.allocate;
    return allocate ? new Uint8Array(allocate(length), 0, length) : new Uint8Array(length);
  }

  private uint16(length: number): Uint16Array {
    const allocate = this.options.allocate;
    return allocate ? new Uint16Array(allocate(length * 2), 0, length) : new Uint16Array(length);
  }

  // --- output ---

  private output(frame: Frame): JpegImage {
    const { width, height, precision } = frame;
    const count = frame.components.length;
    const only = frame.components[0]!;
    // One lossless component fills its plane row by row with no padding: it is the output.
    if (frame.kind === 'lossless' && count === 1 && only.stride === width && only.plane.length === width * height) {
      return { width, height, components: 1, precision, lossless: true, data: only.plane, converted: false };
    }
    const out = frame.kind === 'dct' && precision === 8 ? this.uint8(width * height * count) : this.uint16(width * height * count);
    frame.components.forEach((c, index) => {
      const full = frame.kind === 'lossless' ? { data: c.plane, stride: c.stride } : upsample(c, frame);
      for (let y = 0; y < height; y++) {
        const row = y * full.stride;
        let o = y * width * count + index;
        for (let x = 0; x < width; x++, o += count) out[o] = full.data[row + x]!;
      }
    });
    const converted = convertsColour(this.options.colour, { components: count, lossless: frame.kind === 'lossless', jfif: this.jfif, adobeTransform: this.adobeTransform });
    if (converted) {
      const { crR, cbB, crG, cbG, max } = colourTables(precision);
      for (let i = 0; i < out.length; i += 3) {
        const y = out[i]!;
        const cb = out[i + 1]!;
        const cr = out[i + 2]!;
        const r = y + crR[cr]!;
        const g = y + ((cbG[cb]! + crG[cr]!) >> 16);
        const b = y + cbB[cb]!;
        out[i] = r < 0 ? 0 : r > max ? max : r;
        out[i + 1] = g < 0 ? 0 : g > max ? max : g;
        out[i + 2] = b < 0 ? 0 : b > max ? max : b;
      }
    }
    return { width, height, components: count, precision, lossless: frame.kind === 'lossless', data: out, converted };
  }
}

/**
 * Brings a component to full resolution as libjpeg does by default: "fancy" triangle filters
 * for 2:1 horizontal and 2:1 both ways (when the component is wider than 2 samples), plain
 * replication otherwise (jdsample.c).
 */
function upsample(c: FrameComponent, frame: Frame): { data: Uint8Array | Uint16Array; stride: number } {
  const hf = frame.hmax / c.h;
  const vf = frame.vmax / c.v;
  if (hf === 1 && vf === 1) return { data: c.plane, stride: c.stride };
  if (!Number.isInteger(hf) || !Number.isInteger(vf)) unsupported('JPEG sampling factors that are not integer ratios are not supported');
  const outStride = c.stride * hf;
  const outRows = c.blocksPerColumn * 8 * vf;
  const out = c.plane instanceof Uint8Array ? new Uint8Array(outStride * outRows) : new Uint16Array(outStride * outRows);
  const src = c.plane;
  const w = c.width;
  const fancy = w > 2;
  if (fancy && hf === 2 && vf === 1) {
    for (let y = 0; y < c.height; y++) {
      const i = y * c.stride;
      let o = y * outStride;
      let v = src[i]!;
      out[o++] = v;
      out[o++] = (v * 3 + src[i + 1]! + 2) >> 2;
      for (let x = 1; x < w - 1; x++) {
        v = src[i + x]! * 3;
        out[o++] = (v + src[i + x - 1]! + 1) >> 2;
        out[o++] = (v + src[i + x + 1]! + 2) >> 2;
      }
      v = src[i + w - 1]!;
      out[o++] = (v * 3 + src[i + w - 2]! + 1) >> 2;
      out[o] = v;
    }
    return { data: out, stride: outStride };
  }
  if (fancy && hf === 2 && vf === 2) {
    const last = c.height - 1;
    for (let y = 0; y < c.height; y++) {
      for (let half = 0; half < 2; half++) {
        const near = y * c.stride;
        const far = (half === 0 ? Math.max(0, y - 1) : Math.min(last, y + 1)) * c.stride;
        let o = (2 * y + half) * outStride;
        let thiscol = src[near]! * 3 + src[far]!;
        let nextcol = src[near + 1]! * 3 + src[far + 1]!;
        out[o++] = (thiscol * 4 + 8) >> 4;
        out[o++] = (thiscol * 3 + nextcol + 7) >> 4;
        let lastcol = thiscol;
        thiscol = nextcol;
        for (let x = 2; x < w; x++) {
          nextcol = src[near + x]! * 3 + src[far + x]!;
          out[o++] = (thiscol * 3 + lastcol + 8) >> 4;
          out[o++] = (thiscol * 3 + nextcol + 7) >> 4;
          lastcol = thiscol;
          thiscol = nextcol;
        }
        out[o++] = (thiscol * 3 + lastcol + 8) >> 4;
        out[o] = (thiscol * 4 + 7) >> 4;
      }
    }
    return { data: out, stride: outStride };
  }
  for (let y = 0; y < outRows; y++) {
    const i = Math.floor(y / vf) * c.stride;
    const o = y * outStride;
    for (let x = 0; x < outStride; x++) out[o + x] = src[i + Math.floor(x / hf)]!;
  }
  return { data: out, stride: outStride };
}

export interface JpegHeaderInfo {
  /** SOF marker (0xC0…0xCF, 0xF7 for JPEG-LS); null when there is none before the first scan. */
  sof: number | null;
  components: number;
  jfif: boolean;
  adobeTransform: number | null;
}

/** What the marker segments before the first scan say, without decoding anything. */
export function scanJpegHeader(data: Uint8Array): JpegHeaderInfo {
  const info: JpegHeaderInfo = { sof: null, components: 0, jfif: false, adobeTransform: null };
  if (data[0] !== 0xff || data[1] !== 0xd8) return info;
  let at = 2;
  while (at + 3 < data.length) {
    if (data[at] !== 0xff) break;
    while (data[at] === 0xff && at < data.length) at++;
    const marker = data[at++];
    if (marker === undefined || marker === 0xda || marker === 0xd9) break;
    if ((marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) continue;
    const length = (data[at]! << 8) | data[at + 1]!;
    const body = data.subarray(at + 2, at + length);
    if (info.sof === null && ((marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) || marker === 0xf7)) {
      info.sof = marker;
      info.components = body[5] ?? 0;
    } else if (marker === 0xe0 && body.length >= 5 && String.fromCharCode(...body.subarray(0, 5)) === 'JFIF\0') {
      info.jfif = true;
    } else if (marker === 0xee && body.length >= 12 && String.fromCharCode(...body.subarray(0, 5)) === 'Adobe') {
      info.adobeTransform = body[11]!;
    }
    if (length < 2) break;
    at += length;
  }
  return info;
}

/**
 * Whether three DCT components get the YCbCr → RGB transform. `auto` follows the stream's own
 * markers the way libjpeg does for JFIF and Adobe, but without libjpeg's last-resort guess from
 * component ids: a DICOM frame without either marker holds what the header says it holds.
 */
export function convertsColour(colour: ColourHandling, info: { components: number; lossless: boolean; jfif: boolean; adobeTransform: number | null }): boolean {
  if (info.lossless || info.components !== 3) return false;
  if (colour === 'convert') return true;
  if (colour === 'keep') return false;
  if (info.adobeTransform !== null) return info.adobeTransform === 1;
  return info.jfif;
}

export function decodeJpeg(data: Uint8Array, options: JpegOptions): JpegImage {
  return new JpegDecoder(data, options).decode();
}
