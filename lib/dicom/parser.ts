import { constants as bufferConstants } from 'node:buffer';
import { constants as zlibConstants, inflateRawSync } from 'node:zlib';
import { type CharsetDecoder, DEFAULT_CHARSET, type TextKind, createCharsetDecoder, decodeDefault } from './charset';
import { DicomParseError } from './errors';
import { guessDatasetEncoding, guessEncoding, hasDicmPrefix } from './sniff';
import { type Tag, Tags, formatTag, isPrivateTag, lookupTag, tagGroup } from './tags';
import { type TransferSyntax, guessedTransferSyntax, lookupTransferSyntax } from './transfer-syntax';
import type { DicomDataset, DicomElement, DicomItem, DicomValue, ParseOptions, PixelDataFragment, PixelDataInfo } from './types';
import { CHARSET_VRS, LONG_LENGTH_VRS, NUMERIC_VR_SIZE, SINGLE_VALUE_TEXT_VRS, STRING_VRS, type Vr, isVr } from './vr';

const UNDEFINED_LENGTH = 0xffffffff;
const DEFAULT_MAX_INFLATED_BYTES = 512 * 1024 * 1024;
const DEFAULT_MAX_DEPTH = 16;
// Recursion follows sequence nesting, so the depth limit also bounds the JavaScript stack.
const HARD_MAX_DEPTH = 256;
const DEFAULT_MAX_ELEMENTS = 500_000;
// Numeric arrays larger than this (LUTs, float images in odd places) stay binary: decoding them
// into JavaScript arrays would cost far more memory than the bytes.
const MAX_DECODED_NUMERIC_BYTES = 1 << 20;

const PIXEL_DATA_TAGS: ReadonlySet<Tag> = new Set([Tags.PixelData, Tags.FloatPixelData, Tags.DoubleFloatPixelData]);

/** VRs where leading spaces are padding too, not content (PS3.5 table 6.2-1). */
const TRIM_LEADING_VRS: ReadonlySet<Vr> = new Set<Vr>(['AE', 'AS', 'CS', 'DA', 'DT', 'TM', 'UI']);

const DECIMAL = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

interface Encoding {
  explicitVr: boolean;
  littleEndian: boolean;
}

interface Header {
  tag: Tag;
  /** Undefined in implicit VR (and for item tags, which have no VR). */
  vr: Vr | undefined;
  length: number;
  valueOffset: number;
}

interface Limits {
  maxDepth: number;
  maxElements: number;
  stopAtPixelData: boolean;
}

function printable(text: string): string {
  return JSON.stringify(text);
}

function trimPadding(text: string, leading: boolean): string {
  const trailing = text.replace(/[\0 ]+$/, '');
  return leading ? trailing.replace(/^ +/, '') : trailing;
}

export function parseDecimalString(text: string): number | null {
  const trimmed = text.trim();
  return DECIMAL.test(trimmed) ? Number(trimmed) : null;
}

/** Shared counters of one parse, across the file and the inflated dataset. */
interface Budget {
  elements: number;
  readonly warnings: string[];
  readonly warned: Set<string>;
}

/**
 * Reads data elements from one contiguous byte range. `total` is the size of the whole stream
 * that `bytes` starts: reading past `bytes` but within `total` means the caller handed in too
 * short a prefix, past `total` means the data itself is cut short.
 */
class Reader {
  private readonly view: DataView;
  pixelData: PixelDataInfo | null = null;
  stoppedAtPixelData = false;

  constructor(
    readonly bytes: Uint8Array,
    readonly total: number,
    private readonly limits: Limits,
    private readonly budget: Budget,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  warn(message: string, key = message): void {
    if (this.budget.warned.has(key)) return;
    this.budget.warned.add(key);
    this.budget.warnings.push(message);
  }

  /** `what` is a function so that the hot path builds no message. */
  need(pos: number, count: number, what: string | (() => string)): void {
    const end = pos + count;
    if (end <= this.bytes.length) return;
    this.outOfBytes(pos, count, typeof what === 'string' ? what : what());
  }

  private outOfBytes(pos: number, count: number, what: string): never {
    const end = pos + count;
    if (end > this.total) {
      throw new DicomParseError('truncated', `${what} at offset ${pos} needs ${count} bytes, but the data ends at offset ${this.total}`, pos);
    }
    throw new DicomParseError(
      'header_too_large',
      `${what} at offset ${pos} lies beyond the first ${this.bytes.length} bytes; parse a longer part of the file`,
      pos,
    );
  }

  private count(): void {
    this.budget.elements += 1;
    if (this.budget.elements > this.limits.maxElements) {
      throw new DicomParseError('too_many_elements', `more than ${this.limits.maxElements} data elements`);
    }
  }

  u16(pos: number, littleEndian: boolean): number {
    return this.view.getUint16(pos, littleEndian);
  }

  u32(pos: number, littleEndian: boolean): number {
    return this.view.getUint32(pos, littleEndian);
  }

  tagAt(pos: number, littleEndian: boolean): Tag {
    return (this.u16(pos, littleEndian) * 0x10000 + this.u16(pos + 2, littleEndian)) >>> 0;
  }

  readHeader(pos: number, encoding: Encoding): Header {
    this.need(pos, 8, 'data element header');
    const { littleEndian } = encoding;
    const tag = this.tagAt(pos, littleEndian);
    if (!encoding.explicitVr || tagGroup(tag) === 0xfffe) {
      return { tag, vr: undefined, length: this.u32(pos + 4, littleEndian), valueOffset: pos + 8 };
    }
    const vrText = String.fromCharCode(this.bytes[pos + 4] as number, this.bytes[pos + 5] as number);
    if (!isVr(vrText)) {
      throw new DicomParseError('invalid_element', `${formatTag(tag)} at offset ${pos} has an unknown VR ${printable(vrText)}`, pos);
    }
    if (LONG_LENGTH_VRS.has(vrText)) {
      this.need(pos, 12, 'data element header');
      return { tag, vr: vrText, length: this.u32(pos + 8, littleEndian), valueOffset: pos + 12 };
    }
    return { tag, vr: vrText, length: this.u16(pos + 6, littleEndian), valueOffset: pos + 8 };
  }

  /** The VR to interpret a value with: explicit VRs win, except UN, which the dictionary may know better. */
  private resolveVr(tag: Tag, stored: Vr | undefined, undefinedLength: boolean, siblings: Map<Tag, DicomElement>): Vr {
    if (stored && stored !== 'UN') return stored;
    const entry = lookupTag(tag);
    // Private UN values stay UN: the dictionary cannot know a private creator's VRs.
    if (!entry || (stored === 'UN' && isPrivateTag(tag))) return undefinedLength ? 'SQ' : (stored ?? 'UN');
    switch (entry.vr) {
      case 'US|SS': {
        const pixelRepresentation = siblings.get(Tags.PixelRepresentation)?.value;
        return pixelRepresentation?.kind === 'number' && pixelRepresentation.values[0] === 1 ? 'SS' : 'US';
      }
      case 'OB|OW':
      case 'US|OW':
      case 'US|SS|OW':
        return 'OW';
      default:
        return entry.vr;
    }
  }

  /**
   * Parses the elements of a dataset or item until `end`, an item delimiter (consumed), or the end
   * of the data. `next` is where the caller continues.
   */
  parseDataset(start: number, end: number | undefined, depth: number, encoding: Encoding, inherited: CharsetDecoder): { item: DicomItem; next: number } {
    const elements = new Map<Tag, DicomElement>();
    const top = depth === 0;
    const done = (next: number, length: number | undefined) => ({ item: { elements, offset: start, length }, next });
    let charset = inherited;
    let pos = start;
    for (;;) {
      if (end !== undefined) {
        if (pos >= end) return done(pos, end - start);
      } else if (top) {
        if (pos >= this.total) return done(pos, undefined);
        if (this.pixelData && this.total - pos < 8 && this.total <= this.bytes.length) {
          // Seen after complete pixel data only: writers sometimes leave a few pad bytes.
          this.warn(`${this.total - pos} stray bytes at the end of the file`);
          return done(this.total, undefined);
        }
      }
      this.need(pos, 8, 'data element header');
      const tag = this.tagAt(pos, encoding.littleEndian);
      if (tag === Tags.ItemDelimitationItem) {
        if (!top && end === undefined) return done(pos + 8, undefined);
        this.warn(`stray item delimiter at offset ${pos}`);
        pos += 8;
        continue;
      }
      if (tag === Tags.SequenceDelimitationItem) {
        if (!top && end === undefined) {
          // The item delimiter is missing; leave the sequence delimiter to the enclosing sequence.
          this.warn(`item without delimiter ends at offset ${pos}`);
          return done(pos, undefined);
        }
        this.warn(`stray sequence delimiter at offset ${pos}`);
        pos += 8;
        continue;
      }
      if (tagGroup(tag) === 0xfffe) {
        throw new DicomParseError('invalid_element', `unexpected ${formatTag(tag)} at offset ${pos} outside a sequence`, pos);
      }
      const header = this.readHeader(pos, encoding);
      this.count();
      const { element, next } = this.parseElement(pos, header, end, depth, encoding, charset, elements);
      elements.set(element.tag, element);
      if (element.tag === Tags.SpecificCharacterSet && element.value.kind === 'string') {
        charset = createCharsetDecoder(element.value.values);
        for (const term of charset.unknownTerms) this.warn(`unknown Specific Character Set ${printable(term)}; read as Latin-1`);
      }
      if (this.stoppedAtPixelData) return done(pos, undefined);
      pos = next;
    }
  }

  private parseElement(
    pos: number,
    header: Header,
    end: number | undefined,
    depth: number,
    encoding: Encoding,
    charset: CharsetDecoder,
    siblings: Map<Tag, DicomElement>,
  ): { element: DicomElement; next: number } {
    const { tag, valueOffset } = header;
    const undefinedLength = header.length === UNDEFINED_LENGTH;
    const vr = this.resolveVr(tag, header.vr, undefinedLength, siblings);
    const isTopPixelData = depth === 0 && PIXEL_DATA_TAGS.has(tag);

    if (undefinedLength) {
      if (tag === Tags.PixelData || vr === 'OB' || vr === 'OW') {
        const stop = isTopPixelData && this.limits.stopAtPixelData;
        const result = this.readEncapsulated(valueOffset, stop);
        const pixelVr: Vr = header.vr ?? 'OB';
        if (isTopPixelData) {
          this.pixelData = {
            tag,
            vr: pixelVr,
            offset: valueOffset,
            length: undefined,
            encapsulated: true,
            complete: result.complete,
            ...(result.complete ? { fragments: result.fragments } : {}),
            ...(result.basicOffsetTable ? { basicOffsetTable: result.basicOffsetTable } : {}),
            ...(result.firstFragmentOffset === undefined ? {} : { firstFragmentOffset: result.firstFragmentOffset }),
            ...(result.end === undefined ? {} : { end: result.end }),
          };
        }
        if (stop) this.stoppedAtPixelData = true;
        const value: DicomValue = { kind: 'encapsulated', fragments: result.complete ? result.fragments : undefined, basicOffsetTable: result.basicOffsetTable };
        return { element: makeElement(tag, pixelVr, pos, valueOffset, undefined, value), next: result.end ?? valueOffset };
      }
      if (vr !== 'SQ' && vr !== 'UN') {
        throw new DicomParseError('invalid_element', `${formatTag(tag)} at offset ${pos} has undefined length but VR ${vr}`, pos);
      }
      // An undefined-length UN is a sequence encoded in implicit VR little endian (PS3.5 6.2.2).
      const inner = header.vr === 'UN' ? { explicitVr: false, littleEndian: true } : encoding;
      const { items, next } = this.parseSequence(valueOffset, undefined, depth, inner, charset);
      return { element: makeElement(tag, 'SQ', pos, valueOffset, undefined, { kind: 'sequence', items }), next };
    }

    const { length } = header;
    const valueEnd = valueOffset + length;
    if (end !== undefined && valueEnd > end) {
      throw new DicomParseError('invalid_element', `${formatTag(tag)} at offset ${pos} (length ${length}) runs past the end of its item at offset ${end}`, pos);
    }
    if (valueEnd > this.total) {
      throw new DicomParseError('truncated', `${formatTag(tag)} at offset ${pos} declares ${length} bytes, but the data ends at offset ${this.total}`, pos);
    }
    if (isTopPixelData) {
      const complete = valueEnd <= this.bytes.length;
      this.pixelData = { tag, vr, offset: valueOffset, length, encapsulated: false, complete, end: valueEnd };
      if (this.limits.stopAtPixelData) {
        this.stoppedAtPixelData = true;
        return { element: makeElement(tag, vr, pos, valueOffset, length, { kind: 'binary' }), next: valueEnd };
      }
    }
    if (vr === 'SQ') {
      const inner = header.vr === 'UN' ? { explicitVr: false, littleEndian: true } : encoding;
      const { items } = this.parseSequence(valueOffset, length, depth, inner, charset);
      return { element: makeElement(tag, vr, pos, valueOffset, length, { kind: 'sequence', items }), next: valueEnd };
    }
    this.need(valueOffset, length, () => `value of ${formatTag(tag)}`);
    if (length % 2 === 1) this.warn(`odd value length ${length} of ${formatTag(tag)} at offset ${pos}`, `odd:${tag}`);
    return { element: makeElement(tag, vr, pos, valueOffset, length, this.decodeValue(tag, vr, valueOffset, length, encoding.littleEndian, charset)), next: valueEnd };
  }

  parseSequence(start: number, length: number | undefined, depth: number, encoding: Encoding, charset: CharsetDecoder): { items: DicomItem[]; next: number } {
    if (depth + 1 > this.limits.maxDepth) {
      throw new DicomParseError('too_deep', `sequence at offset ${start} nests deeper than ${this.limits.maxDepth} levels`, start);
    }
    const end = length === undefined ? undefined : start + length;
    const items: DicomItem[] = [];
    let pos = start;
    for (;;) {
      if (end !== undefined && pos >= end) return { items, next: end };
      this.need(pos, 8, 'sequence item header');
      const tag = this.tagAt(pos, encoding.littleEndian);
      const itemLength = this.u32(pos + 4, encoding.littleEndian);
      if (tag === Tags.SequenceDelimitationItem) {
        pos += 8;
        if (end === undefined) return { items, next: pos };
        this.warn(`sequence delimiter inside a defined-length sequence at offset ${pos - 8}`);
        continue;
      }
      if (tag !== Tags.Item) {
        throw new DicomParseError('invalid_element', `expected an item at offset ${pos} in the sequence starting at ${start}, found ${formatTag(tag)}`, pos);
      }
      this.count();
      const itemStart = pos + 8;
      if (itemLength === UNDEFINED_LENGTH) {
        const { item, next } = this.parseDataset(itemStart, undefined, depth + 1, encoding, charset);
        items.push(item);
        pos = next;
      } else {
        const itemEnd = itemStart + itemLength;
        if (end !== undefined && itemEnd > end) {
          throw new DicomParseError('invalid_element', `item at offset ${pos} (length ${itemLength}) runs past the end of its sequence at offset ${end}`, pos);
        }
        if (itemEnd > this.total) {
          throw new DicomParseError('truncated', `item at offset ${pos} declares ${itemLength} bytes, but the data ends at offset ${this.total}`, pos);
        }
        items.push(this.parseDataset(itemStart, itemEnd, depth + 1, encoding, charset).item);
        pos = itemEnd;
      }
    }
  }

  /** Walks the items of encapsulated pixel data (always little endian, PS3.5 A.4). */
  readEncapsulated(
    start: number,
    allowIncomplete: boolean,
  ): { complete: boolean; fragments: PixelDataFragment[]; basicOffsetTable?: number[]; firstFragmentOffset?: number; end?: number } {
    const fragments: PixelDataFragment[] = [];
    let basicOffsetTable: number[] | undefined;
    let firstFragmentOffset: number | undefined;
    let pos = start;
    const incomplete = () => ({
      complete: false,
      fragments,
      ...(basicOffsetTable ? { basicOffsetTable } : {}),
      ...(firstFragmentOffset === undefined ? {} : { firstFragmentOffset }),
    });
    for (;;) {
      if (pos + 8 > this.bytes.length) {
        if (pos + 8 > this.total) {
          throw new DicomParseError('truncated', `encapsulated pixel data starting at offset ${start} ends without a sequence delimiter`, pos);
        }
        if (allowIncomplete) return incomplete();
        this.need(pos, 8, 'pixel data item header');
      }
      const tag = this.tagAt(pos, true);
      const length = this.u32(pos + 4, true);
      if (tag === Tags.SequenceDelimitationItem) {
        return { complete: true, fragments, basicOffsetTable: basicOffsetTable ?? [], ...(firstFragmentOffset === undefined ? {} : { firstFragmentOffset }), end: pos + 8 };
      }
      if (tag !== Tags.Item) {
        throw new DicomParseError('invalid_element', `expected a pixel data item at offset ${pos}, found ${formatTag(tag)}`, pos);
      }
      if (length === UNDEFINED_LENGTH) {
        throw new DicomParseError('invalid_element', `pixel data item at offset ${pos} has undefined length`, pos);
      }
      const valueEnd = pos + 8 + length;
      if (valueEnd > this.total) {
        throw new DicomParseError('truncated', `pixel data item at offset ${pos} declares ${length} bytes, but the data ends at offset ${this.total}`, pos);
      }
      if (basicOffsetTable === undefined && firstFragmentOffset === undefined) {
        // The first item is always the Basic Offset Table, possibly empty.
        firstFragmentOffset = valueEnd;
        if (valueEnd > this.bytes.length) {
          if (allowIncomplete) return incomplete();
          this.need(pos + 8, length, 'basic offset table');
        }
        if (length % 4 !== 0) {
          this.warn(`basic offset table at offset ${pos} has length ${length}, not a multiple of 4; ignored`);
          basicOffsetTable = [];
        } else {
          basicOffsetTable = [];
          for (let p = pos + 8; p < valueEnd; p += 4) basicOffsetTable.push(this.u32(p, true));
        }
      } else {
        this.count();
        if (length % 2 === 1) this.warn(`odd length ${length} of a pixel data fragment at offset ${pos}`, 'odd-fragment');
        fragments.push({ itemOffset: pos, offset: pos + 8, length });
      }
      pos = valueEnd;
    }
  }

  decodeValue(tag: Tag, vr: Vr, offset: number, length: number, littleEndian: boolean, charset: CharsetDecoder): DicomValue {
    const data = () => this.bytes.subarray(offset, offset + length);
    if (vr === 'DS' || vr === 'IS') {
      const text = length === 0 ? [] : decodeDefault(data()).split('\\').map((value) => value.replace(/[\0 ]+$/, '').trim());
      return { kind: 'numeric-string', text, values: text.map(parseDecimalString) };
    }
    if (STRING_VRS.has(vr)) {
      if (length === 0) return { kind: 'string', values: [] };
      const kind: TextKind = vr === 'PN' ? 'person-name' : SINGLE_VALUE_TEXT_VRS.has(vr) ? 'text' : 'multi-valued';
      const text = CHARSET_VRS.has(vr) ? charset.decode(data(), kind) : decodeDefault(data());
      const values = SINGLE_VALUE_TEXT_VRS.has(vr) ? [text] : text.split('\\');
      return { kind: 'string', values: values.map((value) => trimPadding(value, TRIM_LEADING_VRS.has(vr))) };
    }
    const size = NUMERIC_VR_SIZE[vr];
    if (size !== undefined) {
      if (length > MAX_DECODED_NUMERIC_BYTES) return { kind: 'binary' };
      if (length % size !== 0) this.warn(`${formatTag(tag)} at offset ${offset} has length ${length}, not a multiple of ${size}`, `size:${tag}`);
      const count = Math.floor(length / size);
      const read = (i: number) => offset + i * size;
      switch (vr) {
        case 'SV':
          return { kind: 'bigint', values: Array.from({ length: count }, (_, i) => this.view.getBigInt64(read(i), littleEndian)) };
        case 'UV':
          return { kind: 'bigint', values: Array.from({ length: count }, (_, i) => this.view.getBigUint64(read(i), littleEndian)) };
        case 'AT':
          return { kind: 'tag', values: Array.from({ length: count }, (_, i) => this.tagAt(read(i), littleEndian)) };
        default: {
          const get = numberGetter(this.view, vr, littleEndian);
          return { kind: 'number', values: Array.from({ length: count }, (_, i) => get(read(i))) };
        }
      }
    }
    return { kind: 'binary' };
  }
}

/** One object shape for every element keeps property access monomorphic on large datasets. */
function makeElement(tag: Tag, vr: Vr, offset: number, valueOffset: number, length: number | undefined, value: DicomValue): DicomElement {
  return { tag, vr, offset, valueOffset, length, value };
}

function numberGetter(view: DataView, vr: Vr, littleEndian: boolean): (pos: number) => number {
  switch (vr) {
    case 'US':
      return (pos) => view.getUint16(pos, littleEndian);
    case 'SS':
      return (pos) => view.getInt16(pos, littleEndian);
    case 'UL':
      return (pos) => view.getUint32(pos, littleEndian);
    case 'SL':
      return (pos) => view.getInt32(pos, littleEndian);
    case 'FL':
      return (pos) => view.getFloat32(pos, littleEndian);
    default:
      return (pos) => view.getFloat64(pos, littleEndian);
  }
}

function positiveOption(value: number | undefined, fallback: number): number {
  return value !== undefined && Number.isFinite(value) && value > 0 ? Math.floor(value) : fallback;
}

function rethrowAs(code: 'invalid_meta', error: unknown): never {
  if (error instanceof DicomParseError && error.code === 'invalid_element') throw new DicomParseError(code, error.message, error.offset);
  throw error;
}

/** Reads the file meta group (0002) at `start`; null when the data there is not group 0002. */
function parseMeta(reader: Reader, start: number): { meta: DicomItem; next: number } | null {
  const guess = guessEncoding(reader.bytes, start, [0x0002]);
  if (!guess) return null;
  if (!guess.explicitVr) reader.warn('the file meta group is in implicit VR; PS3.10 requires explicit VR little endian');
  const encoding = { explicitVr: guess.explicitVr, littleEndian: true };
  const elements = new Map<Tag, DicomElement>();
  let pos = start;
  try {
    while (pos < reader.total) {
      reader.need(pos, 8, 'file meta element header');
      if (reader.u16(pos, true) !== 0x0002) break;
      const header = reader.readHeader(pos, encoding);
      if (header.length === UNDEFINED_LENGTH) {
        throw new DicomParseError('invalid_meta', `file meta element ${formatTag(header.tag)} at offset ${pos} has undefined length`, pos);
      }
      const vr = header.vr ?? (lookupTag(header.tag)?.vr as Vr | undefined) ?? 'UN';
      if (vr === 'SQ' || !isVr(vr)) {
        throw new DicomParseError('invalid_meta', `file meta element ${formatTag(header.tag)} at offset ${pos} has VR ${vr}`, pos);
      }
      reader.need(header.valueOffset, header.length, `value of ${formatTag(header.tag)}`);
      const value = reader.decodeValue(header.tag, vr, header.valueOffset, header.length, true, DEFAULT_CHARSET);
      elements.set(header.tag, { tag: header.tag, vr, offset: pos, valueOffset: header.valueOffset, length: header.length, value });
      pos = header.valueOffset + header.length;
    }
  } catch (error) {
    rethrowAs('invalid_meta', error);
  }
  const groupLength = elements.get(Tags.FileMetaInformationGroupLength)?.value;
  if (groupLength?.kind === 'number' && groupLength.values[0] !== undefined) {
    const declaredEnd = (elements.get(Tags.FileMetaInformationGroupLength) as DicomElement).valueOffset + 4 + groupLength.values[0];
    if (declaredEnd !== pos) reader.warn(`file meta group length says the group ends at offset ${declaredEnd}, but it ends at ${pos}`);
  }
  return { meta: { elements, offset: start, length: pos - start }, next: pos };
}

function firstString(item: DicomItem, tag: Tag): string | undefined {
  const value = item.elements.get(tag)?.value;
  return value?.kind === 'string' ? value.values[0] : undefined;
}

function inflateDataset(compressed: Uint8Array, complete: boolean, maxInflatedBytes: number, offset: number): Uint8Array {
  try {
    return inflateRawSync(compressed, {
      maxOutputLength: Math.min(maxInflatedBytes, bufferConstants.MAX_LENGTH),
      // With only a prefix of the file, inflate what is there instead of failing on the missing end.
      finishFlush: complete ? zlibConstants.Z_FINISH : zlibConstants.Z_SYNC_FLUSH,
    });
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === 'ERR_BUFFER_TOO_LARGE' || error instanceof RangeError) {
      throw new DicomParseError('inflate_limit', `the deflated dataset inflates to more than ${maxInflatedBytes} bytes`, offset);
    }
    if (code === 'Z_BUF_ERROR') throw new DicomParseError('truncated', 'the deflated dataset ends before its deflate stream does', offset);
    throw new DicomParseError('inflate_failed', `the deflated dataset is not a valid deflate stream: ${(error as Error).message}`, offset);
  }
}

/**
 * Whether the first dataset element contradicts the transfer syntax's explicit/implicit VR. Some
 * writers label implicit VR data as explicit and the reverse; pydicom reads what the data says.
 */
function checkVrEncoding(reader: Reader, pos: number, syntax: TransferSyntax): Encoding {
  const declared = { explicitVr: syntax.explicitVr, littleEndian: syntax.littleEndian };
  if (!syntax.littleEndian || pos + 8 > reader.bytes.length) return declared;
  const guess = guessDatasetEncoding(reader.bytes, pos);
  if (!guess || guess.explicitVr === syntax.explicitVr || !guess.littleEndian) return declared;
  const implicitLength = reader.u32(pos + 4, true);
  if (guess.explicitVr && implicitLength <= reader.total - pos - 8) return declared;
  reader.warn(`transfer syntax ${syntax.uid} says ${syntax.explicitVr ? 'explicit' : 'implicit'} VR, but the dataset is ${guess.explicitVr ? 'explicit' : 'implicit'} VR; reading it as it is`);
  return { explicitVr: guess.explicitVr, littleEndian: true };
}

/**
 * Parses a DICOM file (or the first part of one) into a dataset. Throws only DicomParseError for
 * bad data. See ParseOptions for prefixes and limits.
 */
export function parseDicom(bytes: Uint8Array, options: ParseOptions = {}): DicomDataset {
  const fileSize = Math.max(options.fileSize !== undefined && Number.isFinite(options.fileSize) ? options.fileSize : 0, bytes.length);
  const limits: Limits = {
    maxDepth: Math.min(positiveOption(options.maxDepth, DEFAULT_MAX_DEPTH), HARD_MAX_DEPTH),
    maxElements: positiveOption(options.maxElements, DEFAULT_MAX_ELEMENTS),
    stopAtPixelData: options.stopAtPixelData ?? true,
  };
  const maxInflatedBytes = positiveOption(options.maxInflatedBytes, DEFAULT_MAX_INFLATED_BYTES);
  if (fileSize === 0) throw new DicomParseError('empty_file', 'the file is empty');
  if (bytes.length === 0) throw new DicomParseError('header_too_large', `no bytes given of a ${fileSize}-byte file`, 0);

  const preamble = hasDicmPrefix(bytes);
  if (!preamble && !guessEncoding(bytes, 0)) {
    if (bytes.length < 132 && fileSize > bytes.length) {
      throw new DicomParseError('header_too_large', `the first ${bytes.length} bytes are too few to recognise the file`, 0);
    }
    throw new DicomParseError('not_dicom', "no 'DICM' marker at offset 128 and no DICOM data element at the start", 0);
  }

  const budget: Budget = { elements: 0, warnings: [], warned: new Set() };
  const fileReader = new Reader(bytes, fileSize, limits, budget);
  const metaStart = preamble ? 132 : 0;
  const metaResult = parseMeta(fileReader, metaStart);
  const meta = metaResult?.meta ?? null;
  const datasetOffset = metaResult?.next ?? metaStart;

  let syntax: TransferSyntax;
  let transferSyntaxUid: string | null = null;
  let encoding: Encoding;
  if (meta) {
    const uid = firstString(meta, Tags.TransferSyntaxUid);
    if (!uid) throw new DicomParseError('missing_transfer_syntax', 'the file meta group has no Transfer Syntax UID (0002,0010)', metaStart);
    const known = lookupTransferSyntax(uid);
    if (!known) throw new DicomParseError('unsupported_transfer_syntax', `unsupported transfer syntax ${printable(uid)}`, metaStart);
    syntax = known;
    transferSyntaxUid = uid;
    encoding = known.deflated ? { explicitVr: true, littleEndian: true } : checkVrEncoding(fileReader, datasetOffset, known);
  } else {
    const guess = guessDatasetEncoding(bytes, datasetOffset) ?? { explicitVr: false, littleEndian: true };
    syntax = guessedTransferSyntax(guess.explicitVr, guess.littleEndian);
    encoding = guess;
  }

  let reader = fileReader;
  let start = datasetOffset;
  if (syntax.deflated && options.inflated) {
    reader = new Reader(options.inflated.bytes, Math.max(options.inflated.length, options.inflated.bytes.length), limits, budget);
    start = 0;
  } else if (syntax.deflated) {
    const complete = bytes.length >= fileSize;
    const inflated = inflateDataset(bytes.subarray(datasetOffset), complete, maxInflatedBytes, datasetOffset);
    reader = new Reader(inflated, complete ? inflated.length : Number.POSITIVE_INFINITY, limits, budget);
    start = 0;
  }

  const { item } = reader.parseDataset(start, undefined, 0, encoding, DEFAULT_CHARSET);
  return {
    ...item,
    preamble,
    hasFileMeta: meta !== null,
    meta,
    transferSyntaxUid,
    transferSyntax: syntax,
    explicitVr: encoding.explicitVr,
    littleEndian: encoding.littleEndian,
    deflated: syntax.deflated,
    datasetOffset,
    datasetBytes: reader.bytes,
    fileSize,
    pixelData: reader.pixelData,
    stoppedAtPixelData: reader.stoppedAtPixelData,
    warnings: budget.warnings,
  };
}

/**
 * Where the deflated dataset of a Deflated Explicit VR Little Endian file starts (right after its
 * file meta group), or null for any other file, so that a caller can inflate it as a stream.
 */
export function deflatedDatasetOffset(bytes: Uint8Array, fileSize = bytes.length): number | null {
  try {
    const reader = new Reader(bytes, Math.max(fileSize, bytes.length), { maxDepth: 1, maxElements: 10_000, stopAtPixelData: true }, { elements: 0, warnings: [], warned: new Set() });
    const meta = parseMeta(reader, hasDicmPrefix(bytes) ? 132 : 0);
    if (!meta) return null;
    const uid = firstString(meta.meta, Tags.TransferSyntaxUid);
    return uid && lookupTransferSyntax(uid)?.deflated ? meta.next : null;
  } catch {
    // Whatever is wrong with the meta group, parseDicom reports it.
    return null;
  }
}
