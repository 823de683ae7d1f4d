/**
 * Encodes small datasets by hand for parser tests: hostile shapes and encodings the corpus does
 * not cover. Deliberately independent of the parser's own tables, so a wrong table fails a test.
 */

export interface Encoding {
  explicitVr: boolean;
  littleEndian: boolean;
}

export const EXPLICIT_LE: Encoding = { explicitVr: true, littleEndian: true };
export const IMPLICIT_LE: Encoding = { explicitVr: false, littleEndian: true };
export const EXPLICIT_BE: Encoding = { explicitVr: true, littleEndian: false };

const LONG = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'UC', 'UN', 'UR', 'UT', 'SV', 'UV']);
export const UNDEFINED = 0xffffffff;

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

export function ascii(text: string): Uint8Array {
  return Uint8Array.from(text, (c) => c.charCodeAt(0) & 0xff);
}

/** Pads to even length the way the standard asks: NUL for UI, space for other text. */
export function text(value: string, pad = ' '): Uint8Array {
  return ascii(value.length % 2 ? value + pad : value);
}

function u16(value: number, le: boolean): Uint8Array {
  const out = new Uint8Array(2);
  new DataView(out.buffer).setUint16(0, value, le);
  return out;
}

function u32(value: number, le: boolean): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, value >>> 0, le);
  return out;
}

export function tagBytes(tag: number, le: boolean): Uint8Array {
  return concat(u16(tag >>> 16, le), u16(tag & 0xffff, le));
}

/**
 * One data element. `length` overrides the real value length (for hostile headers), UNDEFINED
 * gives an undefined length.
 */
export function element(tag: number, vr: string, value: Uint8Array, encoding: Encoding = EXPLICIT_LE, length = value.length): Uint8Array {
  const le = encoding.littleEndian;
  if (!encoding.explicitVr) return concat(tagBytes(tag, le), u32(length, le), value);
  if (LONG.has(vr)) return concat(tagBytes(tag, le), ascii(vr), new Uint8Array(2), u32(length, le), value);
  return concat(tagBytes(tag, le), ascii(vr), u16(length, le), value);
}

export const str = (tag: number, vr: string, value: string, encoding: Encoding = EXPLICIT_LE) =>
  element(tag, vr, text(value, vr === 'UI' ? '\0' : ' '), encoding);

export function numbers(kind: 'US' | 'SS' | 'UL' | 'SL' | 'FL' | 'FD', values: number[], le = true): Uint8Array {
  const size = { US: 2, SS: 2, UL: 4, SL: 4, FL: 4, FD: 8 }[kind];
  const out = new Uint8Array(size * values.length);
  const view = new DataView(out.buffer);
  values.forEach((value, i) => {
    const at = i * size;
    if (kind === 'US') view.setUint16(at, value, le);
    else if (kind === 'SS') view.setInt16(at, value, le);
    else if (kind === 'UL') view.setUint32(at, value, le);
    else if (kind === 'SL') view.setInt32(at, value, le);
    else if (kind === 'FL') view.setFloat32(at, value, le);
    else view.setFloat64(at, value, le);
  });
  return out;
}

export const us = (tag: number, value: number, encoding: Encoding = EXPLICIT_LE) => element(tag, 'US', numbers('US', [value], encoding.littleEndian), encoding);

/** An item; undefined length adds the item delimiter. */
export function item(content: Uint8Array, encoding: Encoding = EXPLICIT_LE, undefinedLength = false): Uint8Array {
  const le = encoding.littleEndian;
  if (!undefinedLength) return concat(tagBytes(0xfffee000, le), u32(content.length, le), content);
  return concat(tagBytes(0xfffee000, le), u32(UNDEFINED, le), content, tagBytes(0xfffee00d, le), u32(0, le));
}

/** A sequence of already-encoded items; undefined length adds the sequence delimiter. */
export function sequence(tag: number, items: Uint8Array[], encoding: Encoding = EXPLICIT_LE, undefinedLength = false, vr = 'SQ'): Uint8Array {
  const le = encoding.littleEndian;
  const body = concat(...items);
  if (!undefinedLength) return element(tag, vr, body, encoding);
  return concat(element(tag, vr, body, encoding, UNDEFINED), tagBytes(0xfffee0dd, le), u32(0, le));
}

/** Encapsulated Pixel Data: Basic Offset Table item, one item per fragment, sequence delimiter. */
export function encapsulatedPixelData(fragments: Uint8Array[], offsetTable: number[] = []): Uint8Array {
  const table = concat(...offsetTable.map((value) => u32(value, true)));
  return concat(
    element(0x7fe00010, 'OB', new Uint8Array(0), EXPLICIT_LE, UNDEFINED),
    item(table),
    ...fragments.map((fragment) => item(fragment)),
    tagBytes(0xfffee0dd, true),
    u32(0, true),
  );
}

/** 128-byte preamble, 'DICM' and a file meta group (explicit VR little endian, with group length). */
export function fileMeta(transferSyntaxUid: string | null, sopInstanceUid = '1.2.3.4'): Uint8Array {
  const body = concat(
    element(0x00020001, 'OB', Uint8Array.from([0, 1])),
    str(0x00020002, 'UI', '1.2.840.10008.5.1.4.1.1.7'),
    str(0x00020003, 'UI', sopInstanceUid),
    ...(transferSyntaxUid === null ? [] : [str(0x00020010, 'UI', transferSyntaxUid)]),
    str(0x00020012, 'UI', '1.2.3.999'),
  );
  return concat(new Uint8Array(128), ascii('DICM'), element(0x00020000, 'UL', u32(body.length, true)), body);
}

/** The usual identifying elements, so a built file reads like a real instance. */
export function identity(encoding: Encoding = EXPLICIT_LE): Uint8Array {
  return concat(
    str(0x00080016, 'UI', '1.2.840.10008.5.1.4.1.1.7', encoding),
    str(0x00080018, 'UI', '1.2.3.4', encoding),
    str(0x00080060, 'CS', 'OT', encoding),
    str(0x00100010, 'PN', 'Test^Patient', encoding),
    str(0x00100020, 'LO', 'ID-1', encoding),
    str(0x0020000d, 'UI', '1.2.3', encoding),
    str(0x0020000e, 'UI', '1.2.3.1', encoding),
  );
}

/** Deterministic pseudo-random numbers (mulberry32) for fuzzing. */
export function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
