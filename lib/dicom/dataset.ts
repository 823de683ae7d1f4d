import { type Tag, formatTag, isPrivateTag, tagHex, tagKeyword } from './tags';
import type { DicomDataset, DicomElement, DicomItem, DicomValue, PixelDataFragment, PixelDataInfo } from './types';
import type { Vr } from './vr';

export function getElement(item: DicomItem, tag: Tag): DicomElement | undefined {
  return item.elements.get(tag);
}

/**
 * First value of a string element: '' when the element is present but empty, undefined when it is
 * absent or not a string.
 */
export function getString(item: DicomItem, tag: Tag): string | undefined {
  const value = item.elements.get(tag)?.value;
  if (value?.kind === 'string') return value.values[0] ?? '';
  if (value?.kind === 'numeric-string') return value.text[0] ?? '';
  return undefined;
}

/** All values of a string element; undefined when absent. */
export function getStrings(item: DicomItem, tag: Tag): string[] | undefined {
  const value = item.elements.get(tag)?.value;
  if (value?.kind === 'string') return value.values;
  if (value?.kind === 'numeric-string') return value.text;
  return undefined;
}

/** Numbers of a US/SS/UL/SL/FL/FD/IS/DS element; undefined when absent, empty, or any value is not a number. */
export function getNumbers(item: DicomItem, tag: Tag): number[] | undefined {
  const value = item.elements.get(tag)?.value;
  if (value?.kind === 'number') return value.values.length > 0 ? value.values : undefined;
  if (value?.kind === 'numeric-string') {
    const numbers = value.values.filter((n): n is number => n !== null && Number.isFinite(n));
    return numbers.length > 0 && numbers.length === value.values.length ? numbers : undefined;
  }
  return undefined;
}

export function getNumber(item: DicomItem, tag: Tag): number | undefined {
  const value = item.elements.get(tag)?.value;
  if (value?.kind === 'number') return value.values[0];
  if (value?.kind === 'numeric-string') {
    const first = value.values[0];
    return first !== null && first !== undefined && Number.isFinite(first) ? first : undefined;
  }
  return undefined;
}

export function getItems(item: DicomItem, tag: Tag): DicomItem[] | undefined {
  const value = item.elements.get(tag)?.value;
  return value?.kind === 'sequence' ? value.items : undefined;
}

/**
 * The value bytes of an element of `dataset.elements` (or its nested items), as a view without
 * copying. Undefined when the value is not in the bytes that were parsed (e.g. Pixel Data after
 * a prefix parse) or has undefined length. For elements of `dataset.meta`, use `getMetaBytes`.
 */
export function getElementBytes(dataset: DicomDataset, element: DicomElement): Uint8Array | undefined {
  return viewOf(dataset.datasetBytes, element);
}

/** Value bytes of a file meta element: the meta group is never deflated, so these are file offsets. */
export function getMetaBytes(fileBytes: Uint8Array, element: DicomElement): Uint8Array | undefined {
  return viewOf(fileBytes, element);
}

function viewOf(bytes: Uint8Array, element: DicomElement): Uint8Array | undefined {
  if (element.length === undefined || element.valueOffset + element.length > bytes.length) return undefined;
  return bytes.subarray(element.valueOffset, element.valueOffset + element.length);
}

/** Bytes of one encapsulated fragment, when present. */
export function getFragmentBytes(dataset: DicomDataset, fragment: PixelDataFragment): Uint8Array | undefined {
  const end = fragment.offset + fragment.length;
  return end <= dataset.datasetBytes.length ? dataset.datasetBytes.subarray(fragment.offset, end) : undefined;
}

function startsWith(bytes: Uint8Array | undefined, prefix: readonly number[]): boolean {
  return bytes !== undefined && prefix.every((value, i) => bytes[i] === value);
}

/** Fragments that begin a compressed frame: JPEG SOI, JPEG 2000 SOC+SIZ, or a JP2 signature box. */
function startsFrame(bytes: Uint8Array | undefined): boolean {
  return (
    startsWith(bytes, [0xff, 0xd8, 0xff]) ||
    startsWith(bytes, [0xff, 0x4f, 0xff, 0x51]) ||
    startsWith(bytes, [0x00, 0x00, 0x00, 0x0c, 0x6a, 0x50, 0x20, 0x20])
  );
}

/**
 * Groups encapsulated fragments into frames (PS3.5 A.4): by the Basic Offset Table when there is
 * one, one fragment per frame when the counts match, all fragments when there is one frame, and
 * otherwise by the codestream start markers at the head of each fragment. Undefined when the
 * fragments are unknown (prefix parse) or cannot be split.
 */
export function getEncapsulatedFrames(dataset: DicomDataset, numberOfFrames = 1): PixelDataFragment[][] | undefined {
  const pixelData: PixelDataInfo | null = dataset.pixelData;
  const fragments = pixelData?.fragments;
  if (!pixelData?.encapsulated || !fragments) return undefined;
  const frames = Math.max(1, Math.floor(numberOfFrames));
  const table = pixelData.basicOffsetTable ?? [];
  const base = pixelData.firstFragmentOffset;
  if (table.length === frames && base !== undefined) {
    const starts = table.map((offset) => base + offset);
    const grouped = starts.map((start, i) => {
      const stop = starts[i + 1] ?? Number.POSITIVE_INFINITY;
      return fragments.filter((fragment) => fragment.itemOffset >= start && fragment.itemOffset < stop);
    });
    if (grouped.every((group) => group.length > 0)) return grouped;
  }
  if (frames === 1) return [fragments];
  if (fragments.length === frames) return fragments.map((fragment) => [fragment]);
  const grouped: PixelDataFragment[][] = [];
  for (const fragment of fragments) {
    const last = grouped.at(-1);
    if (!last || startsFrame(getFragmentBytes(dataset, fragment))) grouped.push([fragment]);
    else last.push(fragment);
  }
  return grouped.length === frames ? grouped : undefined;
}

const MAX_DISPLAY_VALUES = 32;

function joinLimited(values: readonly string[]): string {
  const shown = values.slice(0, MAX_DISPLAY_VALUES).join('\\');
  return values.length > MAX_DISPLAY_VALUES ? `${shown}\\… (${values.length} values)` : shown;
}

/** The value as one line of text for a tag browser. */
export function formatValue(value: DicomValue, length: number | undefined): string {
  switch (value.kind) {
    case 'string':
      return joinLimited(value.values);
    case 'numeric-string':
      return joinLimited(value.text);
    case 'number':
      return joinLimited(value.values.map(String));
    case 'bigint':
      return joinLimited(value.values.map(String));
    case 'tag':
      return joinLimited(value.values.map(formatTag));
    case 'sequence':
      return `${value.items.length} item${value.items.length === 1 ? '' : 's'}`;
    case 'encapsulated':
      return value.fragments ? `encapsulated, ${value.fragments.length} fragment${value.fragments.length === 1 ? '' : 's'}` : 'encapsulated';
    case 'binary':
      return length === undefined ? 'binary' : `${length} bytes`;
  }
}

export interface ElementRow {
  /** 'GGGGEEEE'. */
  tag: string;
  keyword: string;
  vr: Vr;
  /** Declared length; null for undefined length. */
  length: number | null;
  /** Nesting level: 0 for the top level and file meta. */
  depth: number;
  /** Tags and item indexes from the top, e.g. ['00081140', '0', '00081150']. */
  path: string[];
  private: boolean;
  meta: boolean;
  value: string;
}

function rowsOf(item: DicomItem, depth: number, path: string[], meta: boolean, rows: ElementRow[]): void {
  for (const element of item.elements.values()) {
    const tag = tagHex(element.tag);
    const rowPath = [...path, tag];
    rows.push({
      tag,
      keyword: tagKeyword(element.tag),
      vr: element.vr,
      length: element.length ?? null,
      depth,
      path: rowPath,
      private: isPrivateTag(element.tag),
      meta,
      value: formatValue(element.value, element.length),
    });
    if (element.value.kind === 'sequence') {
      element.value.items.forEach((child, index) => rowsOf(child, depth + 1, [...rowPath, String(index)], meta, rows));
    }
  }
}

/** Every element, file meta first, nested items depth-first, as plain rows for a tag browser. */
export function listElements(dataset: DicomDataset): ElementRow[] {
  const rows: ElementRow[] = [];
  if (dataset.meta) rowsOf(dataset.meta, 0, [], true, rows);
  rowsOf(dataset, 0, [], false, rows);
  return rows;
}
