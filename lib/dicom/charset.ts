/**
 * Decoding of text in the Specific Character Set (0008,0005), PS3.5 section 6.1 and annex H-K.
 *
 * Single-byte and Unicode terms map onto WHATWG TextDecoder labels. ISO 2022 code extension
 * (terms 'ISO 2022 IR nnn', used for Japanese, Korean and Chinese) is decoded here: each escape
 * sequence switches G0 or G1, and delimiters reset to the initial sets (PS3.5 6.1.2.5.3).
 */

/** Where a value's delimiters are, because ISO 2022 state resets at each of them. */
export type TextKind = 'person-name' | 'text' | 'multi-valued';

export interface CharsetDecoder {
  /** The Specific Character Set values this decoder was built from. */
  readonly terms: readonly string[];
  decode(bytes: Uint8Array, kind: TextKind): string;
  /** Terms that were not recognised and were read as the default repertoire instead. */
  readonly unknownTerms: readonly string[];
}

type SingleByte = { kind: 'latin1' } | { kind: 'decoder'; label: string; c1AsLatin1: boolean };

type Codec = SingleByte | { kind: 'utf8' } | { kind: 'multibyte'; label: string };

const decoders = new Map<string, TextDecoder>();
function textDecoder(label: string): TextDecoder {
  let decoder = decoders.get(label);
  if (!decoder) {
    decoder = new TextDecoder(label);
    decoders.set(label, decoder);
  }
  return decoder;
}

// WHATWG maps the labels iso-8859-1, iso-8859-9 and tis-620 to windows-125x/874, which put
// printable characters at 0x80-0x9F where the ISO sets have C1 controls; Python (and so pydicom)
// keep the controls, so those bytes are passed through as code points.
const LATIN1: SingleByte = { kind: 'latin1' };
const iso = (label: string, c1AsLatin1 = false): SingleByte => ({ kind: 'decoder', label, c1AsLatin1 });

const SINGLE_TERMS: Record<string, Codec> = {
  '': LATIN1,
  ISO_IR_6: LATIN1,
  'ISO_IR 6': LATIN1,
  'ISO_IR 100': LATIN1,
  'ISO_IR 101': iso('iso-8859-2'),
  'ISO_IR 109': iso('iso-8859-3'),
  'ISO_IR 110': iso('iso-8859-4'),
  'ISO_IR 144': iso('iso-8859-5'),
  'ISO_IR 127': iso('iso-8859-6'),
  'ISO_IR 126': iso('iso-8859-7'),
  'ISO_IR 138': iso('iso-8859-8'),
  'ISO_IR 148': iso('iso-8859-9', true),
  'ISO_IR 203': iso('iso-8859-15'),
  'ISO_IR 166': iso('tis-620', true),
  // JIS X 0201: ASCII-like G0 plus half-width katakana at 0xA1-0xDF, exactly Shift_JIS's single bytes.
  'ISO_IR 13': { kind: 'multibyte', label: 'shift_jis' },
  'ISO_IR 192': { kind: 'utf8' },
  GB18030: { kind: 'multibyte', label: 'gb18030' },
  GBK: { kind: 'multibyte', label: 'gbk' },
};

type G0Set = 'ascii' | 'jis-x-0201-roman' | 'jis-x-0208' | 'jis-x-0212';
type G1Set = SingleByte | { kind: 'katakana' } | { kind: 'ksx1001' } | { kind: 'gb2312' };

interface Iso2022Term {
  escape: string;
  g0?: G0Set;
  g1?: G1Set;
}

const ISO2022_TERMS: Record<string, Iso2022Term> = {
  'ISO 2022 IR 6': { escape: '\x1b(B', g0: 'ascii' },
  'ISO 2022 IR 100': { escape: '\x1b-A', g1: LATIN1 },
  'ISO 2022 IR 101': { escape: '\x1b-B', g1: iso('iso-8859-2') },
  'ISO 2022 IR 109': { escape: '\x1b-C', g1: iso('iso-8859-3') },
  'ISO 2022 IR 110': { escape: '\x1b-D', g1: iso('iso-8859-4') },
  'ISO 2022 IR 144': { escape: '\x1b-L', g1: iso('iso-8859-5') },
  'ISO 2022 IR 127': { escape: '\x1b-G', g1: iso('iso-8859-6') },
  'ISO 2022 IR 126': { escape: '\x1b-F', g1: iso('iso-8859-7') },
  'ISO 2022 IR 138': { escape: '\x1b-H', g1: iso('iso-8859-8') },
  'ISO 2022 IR 148': { escape: '\x1b-M', g1: iso('iso-8859-9', true) },
  'ISO 2022 IR 203': { escape: '\x1b-b', g1: iso('iso-8859-15') },
  'ISO 2022 IR 166': { escape: '\x1b-T', g1: iso('tis-620', true) },
  'ISO 2022 IR 13': { escape: '\x1b)I', g1: { kind: 'katakana' } },
  'ISO 2022 IR 87': { escape: '\x1b$B', g0: 'jis-x-0208' },
  'ISO 2022 IR 159': { escape: '\x1b$(D', g0: 'jis-x-0212' },
  'ISO 2022 IR 149': { escape: '\x1b$)C', g1: { kind: 'ksx1001' } },
  'ISO 2022 IR 58': { escape: '\x1b$)A', g1: { kind: 'gb2312' } },
};

// JIS X 0201 romaji is designated to G0 by its own escape; IR 13 declares it together with katakana.
const EXTRA_ESCAPES: Array<[string, { g0?: G0Set; g1?: G1Set }]> = [['\x1b(J', { g0: 'jis-x-0201-roman' }]];

const ESCAPES: Array<[number[], { g0?: G0Set; g1?: G1Set }]> = [
  ...Object.values(ISO2022_TERMS).map((term): [string, { g0?: G0Set; g1?: G1Set }] => [term.escape, term]),
  ...EXTRA_ESCAPES,
]
  .map(([escape, sets]): [number[], { g0?: G0Set; g1?: G1Set }] => [Array.from(escape, (c) => c.charCodeAt(0)), sets])
  // Longest first so that ESC $ ( D is not taken for a shorter sequence.
  .sort((a, b) => b[0].length - a[0].length);

function normaliseTerm(term: string): string {
  return term.trim().toUpperCase();
}

function latin1(bytes: Uint8Array): string {
  let out = '';
  // Chunked because String.fromCharCode takes its arguments on the stack.
  for (let i = 0; i < bytes.length; i += 8192) out += String.fromCharCode(...bytes.subarray(i, i + 8192));
  return out;
}

function decodeSingleByte(codec: SingleByte, bytes: Uint8Array): string {
  if (codec.kind === 'latin1') return latin1(bytes);
  if (!codec.c1AsLatin1 || !bytes.some((b) => b >= 0x80 && b <= 0x9f)) return textDecoder(codec.label).decode(bytes);
  let out = '';
  let start = 0;
  for (let i = 0; i <= bytes.length; i++) {
    const b = bytes[i];
    if (i === bytes.length || (b !== undefined && b >= 0x80 && b <= 0x9f)) {
      out += textDecoder(codec.label).decode(bytes.subarray(start, i));
      if (b !== undefined) out += String.fromCharCode(b);
      start = i + 1;
    }
  }
  return out;
}

function decodeWhole(codec: Codec, bytes: Uint8Array): string {
  switch (codec.kind) {
    case 'latin1':
    case 'decoder':
      return decodeSingleByte(codec, bytes);
    case 'utf8':
      return textDecoder('utf-8').decode(bytes);
    case 'multibyte':
      return textDecoder(codec.label).decode(bytes);
  }
}

const DELIMITERS: Record<TextKind, ReadonlySet<number>> = {
  // CR, LF, FF, TAB reset in text; '^' and '=' also in person names; '\' between values.
  'person-name': new Set([0x0d, 0x0a, 0x0c, 0x09, 0x5e, 0x3d, 0x5c]),
  text: new Set([0x0d, 0x0a, 0x0c, 0x09]),
  'multi-valued': new Set([0x0d, 0x0a, 0x0c, 0x09, 0x5c]),
};

type RunCodec = 'ascii' | 'euc-jp' | 'euc-kr' | 'gbk' | 'katakana' | SingleByte;

function decodeIso2022(bytes: Uint8Array, initial: { g0: G0Set; g1: G1Set | undefined }, kind: TextKind): string {
  let g0 = initial.g0;
  let g1 = initial.g1;
  let out = '';
  let run: number[] = [];
  let runCodec: RunCodec = 'ascii';

  const flush = () => {
    if (run.length === 0) return;
    const data = Uint8Array.from(run);
    if (runCodec === 'ascii') out += latin1(data);
    else if (runCodec === 'katakana') for (const b of data) out += String.fromCharCode(b >= 0xa1 && b <= 0xdf ? 0xff61 + b - 0xa1 : b);
    else if (typeof runCodec === 'string') out += textDecoder(runCodec).decode(data);
    else out += decodeSingleByte(runCodec, data);
    run = [];
  };
  const push = (codec: RunCodec, ...values: number[]) => {
    if (codec !== runCodec) {
      flush();
      runCodec = codec;
    }
    run.push(...values);
  };

  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i] as number;
    if (b === 0x1b) {
      const match = ESCAPES.find(([sequence]) => sequence.every((value, k) => bytes[i + k] === value));
      if (match) {
        if (match[1].g0) g0 = match[1].g0;
        if (match[1].g1) g1 = match[1].g1;
        i += match[0].length - 1;
        continue;
      }
    }
    if (b < 0x80) {
      const multiByteG0 = g0 === 'jis-x-0208' || g0 === 'jis-x-0212';
      if (multiByteG0 && b > 0x20 && b < 0x7f) {
        const second = bytes[i + 1];
        if (second !== undefined && second > 0x20 && second < 0x7f) {
          // JIS X 0208 / 0212 in G0 are the EUC-JP code points with the high bits cleared.
          if (g0 === 'jis-x-0208') push('euc-jp', b | 0x80, second | 0x80);
          else push('euc-jp', 0x8f, b | 0x80, second | 0x80);
          i++;
          continue;
        }
      }
      push('ascii', g0 === 'jis-x-0201-roman' && b === 0x5c ? 0xa5 : b);
      if (!multiByteG0 && DELIMITERS[kind].has(b)) {
        g0 = initial.g0;
        g1 = initial.g1;
      }
      continue;
    }
    if (!g1) push(LATIN1, b);
    else if (g1.kind === 'katakana') push('katakana', b);
    else if (g1.kind === 'ksx1001' || g1.kind === 'gb2312') {
      const second = bytes[i + 1];
      if (second !== undefined && second >= 0x80) {
        push(g1.kind === 'ksx1001' ? 'euc-kr' : 'gbk', b, second);
        i++;
      } else push(LATIN1, b);
    } else push(g1, b);
  }
  flush();
  return out;
}

/**
 * Builds a decoder for the given (0008,0005) values. Unknown terms fall back to the default
 * repertoire (read as Latin-1, as pydicom does) and are reported in `unknownTerms`.
 */
export function createCharsetDecoder(specificCharacterSet: readonly string[] | undefined): CharsetDecoder {
  const terms = (specificCharacterSet ?? []).map(normaliseTerm);
  const unknownTerms = terms.filter((term) => term !== '' && !(term in SINGLE_TERMS) && !(term in ISO2022_TERMS));
  const usesIso2022 = terms.length > 1 || terms.some((term) => term.startsWith('ISO 2022'));

  if (!usesIso2022) {
    const codec = SINGLE_TERMS[terms[0] ?? ''] ?? LATIN1;
    return { terms, unknownTerms, decode: (bytes) => decodeWhole(codec, bytes) };
  }

  // The first value names the sets in force before any escape sequence (PS3.3 C.12.1.1.2); G0
  // starts as ASCII in every Japanese, Korean and Chinese combination DICOM defines.
  const initial = { g0: 'ascii' as G0Set, g1: ISO2022_TERMS[terms[0] ?? '']?.g1 };
  return { terms, unknownTerms, decode: (bytes, kind) => decodeIso2022(bytes, initial, kind) };
}

/** Decodes the default repertoire (and anything in VRs outside the character-set VRs). */
export function decodeDefault(bytes: Uint8Array): string {
  return latin1(bytes);
}

export const DEFAULT_CHARSET: CharsetDecoder = createCharsetDecoder(undefined);
