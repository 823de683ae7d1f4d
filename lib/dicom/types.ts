import type { Tag } from './tags';
import type { TransferSyntax } from './transfer-syntax';
import type { Vr } from './vr';

export interface ParseOptions {
  /** Real size of the file when `bytes` is only its beginning. Defaults to `bytes.length`. */
  fileSize?: number;
  /**
   * Stop at the top-level Pixel Data element (default true): its position and length are
   * recorded and checked against `fileSize`, but its bytes are not needed.
   */
  stopAtPixelData?: boolean;
  /** Limit for a deflated dataset once inflated (default 512 MiB). */
  maxInflatedBytes?: number;
  /** Deepest sequence nesting accepted (default 16). */
  maxDepth?: number;
  /** Most data elements (all levels together) accepted (default 500,000). */
  maxElements?: number;
  /**
   * For a deflated file: its dataset already inflated by the caller (who can stream and count
   * it without holding it all), `bytes` being the first part and `length` the whole inflated
   * size. The parser then inflates nothing itself.
   */
  inflated?: { bytes: Uint8Array; length: number };
}

/** A parsed value. Binary values are not copied: read them with `getElementBytes`. */
export type DicomValue =
  /** AE AS CS DA DT LO LT PN SH ST TM UC UI UR UT, decoded and trimmed of padding; ST LT UT UR have at most one value. */
  | { kind: 'string'; values: string[] }
  /** IS and DS: `text` as stored (trimmed), `values` as numbers, null where a value is empty or not a number. */
  | { kind: 'numeric-string'; text: string[]; values: Array<number | null> }
  /** US SS UL SL FL FD. */
  | { kind: 'number'; values: number[] }
  /** SV UV. */
  | { kind: 'bigint'; values: bigint[] }
  /** AT: tags. */
  | { kind: 'tag'; values: Tag[] }
  | { kind: 'sequence'; items: DicomItem[] }
  /** OB OD OF OL OV OW UN, oversized numeric arrays, and Pixel Data not in the bytes handed in. */
  | { kind: 'binary' }
  /** Encapsulated Pixel Data (undefined length); see `DicomDataset.pixelData` for fragments. */
  | { kind: 'encapsulated'; fragments: PixelDataFragment[] | undefined; basicOffsetTable: number[] | undefined };

export interface DicomElement {
  tag: Tag;
  /** The VR as stored (explicit VR) or from the dictionary (implicit VR; 'UN' when unknown). */
  vr: Vr;
  /** Offset of the element's first header byte. */
  offset: number;
  /** Offset of the value's first byte. */
  valueOffset: number;
  /** Declared value length; undefined for undefined length (0xFFFFFFFF). */
  length: number | undefined;
  value: DicomValue;
}

/** A dataset: the top level, an item of a sequence, or the file meta group. */
export interface DicomItem {
  /** In file order (ascending tag order in a valid file). */
  elements: Map<Tag, DicomElement>;
  /** Offset of the first element. */
  offset: number;
  /** Length of the elements; undefined for an undefined-length item. */
  length: number | undefined;
}

export interface PixelDataFragment {
  /** Offset of the fragment's item tag. */
  itemOffset: number;
  /** Offset of the fragment's first byte. */
  offset: number;
  length: number;
}

export interface PixelDataInfo {
  tag: Tag;
  vr: Vr;
  /** Offset of the value (for encapsulated data: of the Basic Offset Table item tag). */
  offset: number;
  /** Declared length; undefined for encapsulated pixel data. */
  length: number | undefined;
  encapsulated: boolean;
  /**
   * True when the value lies wholly in the bytes that were parsed (`DicomDataset.datasetBytes`).
   * For encapsulated data this means the whole fragment list up to the sequence delimiter was read.
   */
  complete: boolean;
  /** Encapsulated only, and only when `complete`. */
  fragments?: PixelDataFragment[];
  /** Encapsulated only, and only when its item was read; empty when the table is empty. */
  basicOffsetTable?: number[];
  /** Offset of the first fragment's item tag: Basic Offset Table entries count from here. */
  firstFragmentOffset?: number;
  /** End offset of the whole value (after the sequence delimiter), when known. */
  end?: number;
}

export interface DicomDataset extends DicomItem {
  /** 128-byte preamble and 'DICM' present. */
  preamble: boolean;
  hasFileMeta: boolean;
  /** The file meta group (0002); its offsets are always file offsets. */
  meta: DicomItem | null;
  /** From the meta group; null when there is none (the encoding was then guessed from the data). */
  transferSyntaxUid: string | null;
  transferSyntax: TransferSyntax;
  explicitVr: boolean;
  littleEndian: boolean;
  deflated: boolean;
  /** File offset where the dataset after the meta group starts (compressed stream start for deflate). */
  datasetOffset: number;
  /**
   * The bytes that the offsets of `elements`, nested items and `pixelData` refer to: the bytes
   * handed in (file offsets), or for a deflated dataset the inflated dataset (offset 0 = its start).
   */
  datasetBytes: Uint8Array;
  /** The size of the file, as given in `fileSize` or the length of the bytes. */
  fileSize: number;
  pixelData: PixelDataInfo | null;
  /** Parsing stopped at the top-level Pixel Data; elements after it were not read. */
  stoppedAtPixelData: boolean;
  /** Oddities that were tolerated (odd lengths, VR mismatch, unknown character sets, trailing bytes). */
  warnings: string[];
}
