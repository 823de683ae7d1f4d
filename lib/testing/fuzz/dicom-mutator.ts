import { deflateRawSync } from 'node:zlib';
import { parseDicom, type DicomDataset, type DicomElement, type DicomItem } from '@/lib/dicom';
import { Rng } from './prng';

/**
 * Deterministic mutations of a valid DICOM file: what a damaged disk, a broken writer or an
 * attacker would hand the ingest pipeline. Offsets come from parsing the original, so length
 * fields, VRs and image attributes are hit where they are, not only by chance. A deflated
 * dataset is mutated inflated and deflated again, so its structure is reached too.
 */

interface Located {
  element: DicomElement;
  /** Encoding the element was read with. */
  explicitVr: boolean;
  littleEndian: boolean;
  depth: number;
}

export interface DicomTemplate {
  /** The original file. */
  file: Uint8Array;
  dataset: DicomDataset;
  /** Where element offsets point: the file, or the inflated dataset of a deflated file. */
  body: Uint8Array;
  elements: Located[];
  /** Offsets (in body) of the item headers of sequences and of pixel data fragments. */
  itemHeaders: number[];
}

export interface Mutant {
  data: Buffer;
  /** What was done, for the failure report. */
  mutations: string[];
}

const IMPLICIT_LE = { explicitVr: false, littleEndian: true };

function walk(body: Uint8Array, item: DicomItem, encoding: { explicitVr: boolean; littleEndian: boolean }, depth: number, out: Located[], items: number[]): void {
  for (const element of item.elements.values()) {
    out.push({ element, ...encoding, depth });
    if (element.value.kind === 'sequence') {
      // An UN sequence is implicit VR little endian inside (PS3.5 6.2.2).
      const storedUn = encoding.explicitVr && body[element.offset + 4] === 0x55 && body[element.offset + 5] === 0x4e;
      const inner = storedUn ? IMPLICIT_LE : encoding;
      for (const child of element.value.items) {
        items.push(child.offset - 8);
        walk(body, child, inner, depth + 1, out, items);
      }
    }
  }
}

export function dicomTemplate(file: Uint8Array): DicomTemplate {
  const dataset = parseDicom(file, { stopAtPixelData: true });
  const elements: Located[] = [];
  const itemHeaders: number[] = [];
  if (dataset.meta && !dataset.deflated) walk(file, dataset.meta, { explicitVr: true, littleEndian: true }, 0, elements, itemHeaders);
  walk(dataset.datasetBytes, dataset, { explicitVr: dataset.explicitVr, littleEndian: dataset.littleEndian }, 0, elements, itemHeaders);
  for (const fragment of dataset.pixelData?.fragments ?? []) itemHeaders.push(fragment.itemOffset);
  return { file, dataset, body: dataset.datasetBytes, elements, itemHeaders };
}

const TAG = {
  rows: 0x00280010,
  columns: 0x00280011,
  samplesPerPixel: 0x00280002,
  bitsAllocated: 0x00280100,
  bitsStored: 0x00280101,
  highBit: 0x00280102,
  pixelRepresentation: 0x00280103,
  planarConfiguration: 0x00280006,
  numberOfFrames: 0x00280008,
  transferSyntax: 0x00020010,
  studyUid: 0x0020000d,
  seriesUid: 0x0020000e,
  sopUid: 0x00080018,
  mediaSopUid: 0x00020003,
  pixelData: 0x7fe00010,
};

/** Client-controlled strings that must never reach a file path. */
export const HOSTILE_PATH_STRINGS = ['../../../../../../tmp/pwned', '..%2F..%2F..%2Fetc%2Fpasswd', '..\\..\\..\\windows\\win.ini', 'a\u0000b/../../x', '/etc/passwd', '%2e%2e%2f%2e%2e%2f', '....//....//x'];

const POLYGLOT_PREAMBLES: Record<string, Buffer> = {
  elf: Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0x02, 0x01, 0x01, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0x02, 0x00, 0x3e, 0x00]),
  html: Buffer.from('<html><script>alert(document.domain)</script><!--', 'latin1'),
  zip: Buffer.from([0x50, 0x4b, 0x03, 0x04, 0x14, 0x00, 0x00, 0x00, 0x08, 0x00]),
  pdf: Buffer.from('%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj', 'latin1'),
  pe: Buffer.from('MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff', 'latin1'),
};

/** A file with `kind`'s magic in its preamble (a polyglot, CVE-2019-11687). */
export function withPolyglotPreamble(file: Uint8Array, kind: keyof typeof POLYGLOT_PREAMBLES): Buffer {
  const out = Buffer.from(file);
  out.fill(0x41, 0, 128);
  POLYGLOT_PREAMBLES[kind]!.copy(out, 0);
  return out;
}

function u16(buf: Buffer, pos: number, value: number, le: boolean) {
  if (pos + 2 > buf.length) return;
  if (le) buf.writeUInt16LE(value & 0xffff, pos);
  else buf.writeUInt16BE(value & 0xffff, pos);
}
function u32(buf: Buffer, pos: number, value: number, le: boolean) {
  if (pos + 4 > buf.length) return;
  if (le) buf.writeUInt32LE(value >>> 0, pos);
  else buf.writeUInt32BE(value >>> 0, pos);
}

function find(t: DicomTemplate, tag: number): Located | undefined {
  return t.elements.find((e) => e.element.tag === tag && e.depth === 0);
}

/** Overwrites a value in place (same length, so the structure stays valid). */
function overwriteValue(body: Buffer, located: Located, text: string, pad: string): void {
  const { valueOffset, length } = located.element;
  if (length === undefined || length === 0) return;
  const value = Buffer.alloc(length, pad, 'latin1');
  Buffer.from(text, 'latin1').copy(value, 0, 0, length);
  value.copy(body, valueOffset);
}

function lengthField(l: Located): { pos: number; size: 2 | 4 } {
  const { offset, valueOffset } = l.element;
  if (valueOffset - offset === 12) return { pos: offset + 8, size: 4 };
  if (l.explicitVr) return { pos: offset + 6, size: 2 };
  return { pos: offset + 4, size: 4 };
}

/** A nest of sequences `depth` deep (or `width` items wide), in the dataset's own encoding. */
function nestedSequences(rng: Rng, depth: number, width: number, explicitVr: boolean, le: boolean, terminated: boolean): Buffer {
  const seqHeaderSize = explicitVr ? 12 : 8;
  const closing = terminated ? depth * 16 : 8;
  const out = Buffer.alloc(depth * (seqHeaderSize + 8) + (width > 0 ? seqHeaderSize + 8 : 0) + width * 16 + closing);
  let pos = 0;
  const tag = (group: number, element: number) => {
    u16(out, pos, group, le);
    u16(out, pos + 2, element, le);
    pos += 4;
  };
  const len = (value: number) => {
    u32(out, pos, value, le);
    pos += 4;
  };
  for (let d = 0; d < depth; d++) {
    // (0008,1115) Referenced Series Sequence, undefined length, holding one undefined-length item.
    tag(0x0008, 0x1115);
    if (explicitVr) {
      out.write('SQ', pos, 'latin1');
      pos += 4;
    }
    len(0xffffffff);
    tag(0xfffe, 0xe000);
    len(0xffffffff);
  }
  if (width > 0) {
    // A sequence of `width` empty items at the innermost level.
    tag(0x0008, 0x1140);
    if (explicitVr) {
      out.write('SQ', pos, 'latin1');
      pos += 4;
    }
    len(0xffffffff);
    for (let w = 0; w < width; w++) {
      tag(0xfffe, 0xe000);
      len(0xffffffff);
      tag(0xfffe, 0xe00d);
      len(0);
    }
    tag(0xfffe, 0xe0dd);
    len(0);
  }
  if (terminated) {
    for (let d = 0; d < depth; d++) {
      tag(0xfffe, 0xe00d);
      len(0);
      tag(0xfffe, 0xe0dd);
      len(0);
    }
  } else if (rng.chance(0.5)) {
    tag(0xfffe, 0xe0dd);
    len(0);
  }
  return out.subarray(0, pos);
}

const INTERESTING32 = [0, 1, 2, 3, 0x7f, 0x80, 0xff, 0xfffe, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff];
const INTERESTING16 = [0, 1, 3, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xfffe, 0xffff];
const VRS = ['SQ', 'UN', 'OB', 'OW', 'UT', 'US', 'DS', 'XX', '\0\0', 'sq', 'UI', 'OF', 'SV'];
const TRANSFER_SYNTAXES = ['1.2.840.10008.1.2', '1.2.840.10008.1.2.1', '1.2.840.10008.1.2.2', '1.2.840.10008.1.2.1.99', '1.2.840.10008.1.2.4.50', '1.2.840.10008.1.2.4.70', '1.2.840.10008.1.2.4.80', '1.2.840.10008.1.2.4.90', '1.2.840.10008.1.2.5', '1.2.3.4.5.6.7'];

type Mutation = (t: DicomTemplate, body: Buffer, rng: Rng) => { body: Buffer; note: string } | null;

/** End of the header in body coordinates: mutating pixel bytes rarely tests a parser. */
function headerEnd(t: DicomTemplate, body: Buffer): number {
  const pixel = t.dataset.pixelData?.offset;
  return Math.max(16, Math.min(body.length, pixel === undefined ? body.length : pixel + 64));
}

const MUTATIONS: Record<string, { weight: number; apply: Mutation }> = {
  bitflip: {
    weight: 10,
    apply: (t, body, rng) => {
      const n = rng.int(1, 16);
      const end = rng.chance(0.8) ? headerEnd(t, body) : body.length;
      const at: number[] = [];
      for (let i = 0; i < n; i++) {
        const pos = rng.int(0, end - 1);
        body[pos]! ^= 1 << rng.int(0, 7);
        at.push(pos);
      }
      return { body, note: `bitflip@${at.join(',')}` };
    },
  },
  interestingByte: {
    weight: 5,
    apply: (t, body, rng) => {
      const pos = rng.int(0, headerEnd(t, body) - 1);
      const value = rng.pick([0x00, 0xff, 0x7f, 0x80, 0x01, 0xfe]);
      body[pos] = value;
      return { body, note: `byte@${pos}=${value}` };
    },
  },
  length: {
    weight: 14,
    apply: (t, body, rng) => {
      if (t.elements.length === 0) return null;
      const l = rng.pick(t.elements);
      const { pos, size } = lengthField(l);
      const le = l.littleEndian;
      const current = l.element.length ?? 0xffffffff;
      const choices = size === 4 ? [...INTERESTING32, current + 1, current + 2, current * 16, body.length - l.element.valueOffset + 2, rng.u32()] : [...INTERESTING16, current + 1, current + 2, rng.int(0, 0xffff)];
      const value = rng.pick(choices);
      (size === 4 ? u32 : u16)(body, pos, value, le);
      return { body, note: `length(${l.element.tag.toString(16)}@${l.element.offset})=${value}` };
    },
  },
  itemLength: {
    weight: 5,
    apply: (t, body, rng) => {
      if (t.itemHeaders.length === 0) return null;
      const pos = rng.pick(t.itemHeaders);
      const value = rng.pick([...INTERESTING32, rng.u32()]);
      // Items and fragments are little endian except in big endian datasets' sequences.
      u32(body, pos + 4, value, t.dataset.littleEndian || t.dataset.pixelData?.encapsulated === true);
      return { body, note: `itemLength@${pos}=${value}` };
    },
  },
  vr: {
    weight: 6,
    apply: (t, body, rng) => {
      const explicit = t.elements.filter((e) => e.explicitVr);
      if (explicit.length === 0) return null;
      const l = rng.pick(explicit);
      const vr = rng.pick(VRS);
      body.write(vr, l.element.offset + 4, 2, 'latin1');
      return { body, note: `vr(${l.element.tag.toString(16)})=${JSON.stringify(vr)}` };
    },
  },
  nested: {
    weight: 6,
    apply: (t, body, rng) => {
      const depth = rng.pick([1, 17, 64, 257, 2000, 20_000]);
      const width = rng.pick([0, 0, 1, 1000, 100_000]);
      const terminated = rng.chance(0.6);
      const { explicitVr, littleEndian } = t.dataset;
      const nest = nestedSequences(rng, depth, width, explicitVr, littleEndian, terminated);
      // At the start of the dataset (tag order is not what the parser relies on), or before pixel data.
      const firstTop = t.elements.find((e) => e.depth === 0 && e.element.tag > 0x0002ffff);
      const pixel = find(t, TAG.pixelData);
      const at = rng.chance(0.5) || !pixel ? (firstTop?.element.offset ?? 0) : pixel.element.offset;
      return { body: Buffer.concat([body.subarray(0, at), nest, body.subarray(at)]), note: `nested(depth=${depth},width=${width},terminated=${terminated})@${at}` };
    },
  },
  hugeDimensions: {
    weight: 10,
    apply: (t, body, rng) => {
      const candidates = [TAG.rows, TAG.columns, TAG.samplesPerPixel, TAG.bitsAllocated, TAG.bitsStored, TAG.highBit, TAG.pixelRepresentation, TAG.planarConfiguration, TAG.numberOfFrames]
        .map((tag) => find(t, tag))
        .filter((l): l is Located => !!l && l.element.length !== undefined && l.element.length > 0);
      if (candidates.length === 0) return null;
      const notes: string[] = [];
      for (let i = rng.int(1, 3); i > 0; i--) {
        const l = rng.pick(candidates);
        if (l.element.tag === TAG.numberOfFrames) {
          const text = rng.pick(['9'.repeat(l.element.length ?? 2), '-1', '0', '2147483648', '1e9', 'NaN']);
          overwriteValue(body, l, text, ' ');
          notes.push(`frames=${text}`);
        } else {
          const value = rng.pick([0, 0xffff, 0x8000, 0x7fff, 64, 65, 3, 4, 255, rng.int(0, 0xffff)]);
          u16(body, l.element.valueOffset, value, l.littleEndian);
          notes.push(`${l.element.tag.toString(16)}=${value}`);
        }
      }
      return { body, note: `dimensions(${notes.join(',')})` };
    },
  },
  hostileUid: {
    weight: 4,
    apply: (t, body, rng) => {
      const candidates = [TAG.studyUid, TAG.seriesUid, TAG.sopUid].map((tag) => find(t, tag)).filter((l): l is Located => !!l && (l.element.length ?? 0) > 0);
      if (candidates.length === 0) return null;
      const l = rng.pick(candidates);
      const text = rng.pick(HOSTILE_PATH_STRINGS);
      overwriteValue(body, l, text, '\0');
      return { body, note: `uid(${l.element.tag.toString(16)})=${JSON.stringify(text)}` };
    },
  },
  transferSyntax: {
    weight: 3,
    apply: (t, body, rng) => {
      const l = t.dataset.deflated ? undefined : find(t, TAG.transferSyntax);
      if (!l) return null;
      const uid = rng.pick(TRANSFER_SYNTAXES);
      overwriteValue(body, l, uid, '\0');
      return { body, note: `transferSyntax=${uid}` };
    },
  },
  splice: {
    weight: 6,
    apply: (t, body, rng) => {
      const end = headerEnd(t, body);
      const a = rng.int(0, end - 1);
      const b = Math.min(body.length, a + rng.int(1, 64));
      switch (rng.int(0, 2)) {
        case 0:
          return { body: Buffer.concat([body.subarray(0, a), body.subarray(b)]), note: `delete[${a},${b})` };
        case 1:
          return { body: Buffer.concat([body.subarray(0, b), body.subarray(a, b), body.subarray(b)]), note: `duplicate[${a},${b})` };
        default: {
          const junk = Buffer.alloc(rng.int(1, 64));
          for (let i = 0; i < junk.length; i++) junk[i] = rng.int(0, 255);
          return { body: Buffer.concat([body.subarray(0, a), junk, body.subarray(a)]), note: `insert${junk.length}@${a}` };
        }
      }
    },
  },
};

const FILE_MUTATIONS: Record<string, { weight: number; apply: (file: Buffer, rng: Rng, t: DicomTemplate) => { file: Buffer; note: string } }> = {
  truncate: {
    weight: 8,
    apply: (file, rng, t) => {
      const pixel = t.dataset.deflated ? undefined : t.dataset.pixelData?.offset;
      const limit = rng.chance(0.6) && pixel ? Math.min(file.length - 1, pixel + 16) : file.length - 1;
      const at = rng.int(0, Math.max(0, limit));
      return { file: file.subarray(0, at), note: `truncate@${at}` };
    },
  },
  trailing: {
    weight: 2,
    apply: (file, rng) => {
      const junk = Buffer.alloc(rng.pick([1, 7, 8, 13, 1000]), rng.int(0, 255));
      return { file: Buffer.concat([file, junk]), note: `trailing${junk.length}` };
    },
  },
  preamble: {
    weight: 3,
    apply: (file, rng, t) => {
      if (!t.dataset.preamble) return { file, note: 'preamble(n/a)' };
      const kind = rng.pick(Object.keys(POLYGLOT_PREAMBLES) as (keyof typeof POLYGLOT_PREAMBLES)[]);
      return { file: withPolyglotPreamble(file, kind), note: `preamble=${kind}` };
    },
  },
};

/** One mutant of the template, fully determined by `rng`'s seed. */
export function mutateDicom(t: DicomTemplate, rng: Rng): Mutant {
  const notes: string[] = [];
  let body: Buffer = Buffer.from(t.body);
  const rounds = rng.pick([1, 1, 1, 2, 2, 3]);
  for (let i = 0; i < rounds; i++) {
    if (rng.chance(0.2)) continue;
    const [name, m] = rng.weighted(MUTATIONS);
    const result = m.apply(t, body, rng);
    if (result) {
      body = result.body;
      notes.push(result.note);
    } else notes.push(`${name}(n/a)`);
  }
  let file: Buffer = t.dataset.deflated ? Buffer.concat([Buffer.from(t.file.subarray(0, t.dataset.datasetOffset)), deflateRawSync(body)]) : body;
  if (notes.length === 0 || rng.chance(0.35)) {
    const [, m] = rng.weighted(FILE_MUTATIONS);
    const result = m.apply(file, rng, t);
    file = result.file;
    notes.push(result.note);
  }
  return { data: file, mutations: notes };
}

/**
 * The template with a SOP Instance UID of its own (same length, last digits replaced by `n`), so
 * that every variant that is accepted is stored and checked, instead of being a duplicate.
 */
export function withInstanceNumber(t: DicomTemplate, n: number): DicomTemplate {
  const file = Buffer.from(t.file);
  const body = t.dataset.deflated ? Buffer.from(t.body) : file;
  const digits = String(n);
  const patch = (buf: Buffer, l: Located | undefined) => {
    if (!l || !l.element.length) return;
    const { valueOffset, length } = l.element;
    let end = valueOffset + length;
    while (end > valueOffset && (buf[end - 1] === 0 || buf[end - 1] === 0x20)) end--;
    // Replace digit characters from the end, skipping dots, keeping at least the root.
    let i = digits.length - 1;
    for (let p = end - 1; p > valueOffset + 4 && i >= 0; p--) {
      if (buf[p] === 0x2e) continue;
      buf[p] = digits.charCodeAt(i--);
    }
  };
  const meta = t.elements.find((e) => e.element.tag === TAG.mediaSopUid && e.depth === 0);
  if (meta && t.dataset.meta?.elements.get(TAG.mediaSopUid) === meta.element) patch(file, meta);
  patch(body, t.elements.find((e) => e.element.tag === TAG.sopUid && e.depth === 0));
  return { ...t, file, body };
}
