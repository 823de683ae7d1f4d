/**
 * Re-encodes a dataset with native pixel data (implicit VR little endian, explicit VR big endian,
 * or a file without a Part 10 header) as an Explicit VR Little Endian Part 10 file: the same
 * elements and values, with explicit VRs and little-endian numbers. Pure: bytes in, bytes out.
 * Encapsulated and deflated datasets are already explicit little endian and are not handled here.
 */
import { getString } from './dataset';
import { Tags } from './tags';
import type { DicomDataset, DicomElement, DicomItem } from './types';
import { LONG_LENGTH_VRS, type Vr } from './vr';

export const EXPLICIT_LITTLE = '1.2.840.10008.1.2.1';
/** 2.25 + a UUID made once for files this platform re-encodes (PS3.5 B.2). */
const IMPLEMENTATION_CLASS_UID = '2.25.302281517402453016361612452837713406657';

const SWAP_WIDTH: Partial<Record<Vr, number>> = { US: 2, SS: 2, OW: 2, AT: 2, UL: 4, SL: 4, FL: 4, OF: 4, OL: 4, FD: 8, OD: 8, SV: 8, UV: 8, OV: 8 };

class Writer {
  private chunks: Uint8Array[] = [];
  size = 0;
  push(bytes: Uint8Array): void {
    this.chunks.push(bytes);
    this.size += bytes.length;
  }
  header(tag: number, vr: string, length: number): void {
    const long = LONG_LENGTH_VRS.has(vr as Vr);
    const out = new Uint8Array(long ? 12 : 8);
    const view = new DataView(out.buffer);
    view.setUint16(0, tag >>> 16, true);
    view.setUint16(2, tag & 0xffff, true);
    out[4] = vr.charCodeAt(0);
    out[5] = vr.charCodeAt(1);
    if (long) view.setUint32(8, length >>> 0, true);
    else view.setUint16(6, length, true);
    this.push(out);
  }
  raw(tag: number, length: number): void {
    const out = new Uint8Array(8);
    const view = new DataView(out.buffer);
    view.setUint16(0, tag >>> 16, true);
    view.setUint16(2, tag & 0xffff, true);
    view.setUint32(4, length >>> 0, true);
    this.push(out);
  }
  bytes(): Uint8Array {
    const out = new Uint8Array(this.size);
    let at = 0;
    for (const c of this.chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  }
}

function swapped(bytes: Uint8Array, width: number): Uint8Array {
  const out = new Uint8Array(bytes.length);
  for (let i = 0; i + width <= bytes.length; i += width) for (let b = 0; b < width; b++) out[i + b] = bytes[i + width - 1 - b]!;
  return out;
}

function writeItem(writer: Writer, dataset: DicomDataset, item: DicomItem): void {
  for (const element of item.elements.values()) writeElement(writer, dataset, element);
}

function writeElement(writer: Writer, dataset: DicomDataset, element: DicomElement): void {
  const { tag } = element;
  // Group lengths would be wrong after re-encoding, and are retired outside the file meta group.
  if ((tag & 0xffff) === 0) return;
  if (element.value.kind === 'sequence') {
    writer.header(tag, 'SQ', 0xffffffff);
    for (const child of element.value.items) {
      writer.raw(Tags.Item, 0xffffffff);
      writeItem(writer, dataset, child);
      writer.raw(Tags.ItemDelimitationItem, 0);
    }
    writer.raw(Tags.SequenceDelimitationItem, 0);
    return;
  }
  if (element.value.kind === 'encapsulated' || element.length === undefined) {
    throw new Error('encapsulated pixel data is re-encoded by decoding it (lib/imaging/decode transcode)');
  }
  const end = element.valueOffset + element.length;
  if (end > dataset.datasetBytes.length) throw new Error(`the value of element ${tag.toString(16)} is not in the parsed bytes`);
  let value = dataset.datasetBytes.subarray(element.valueOffset, end);
  const width = SWAP_WIDTH[element.vr];
  if (!dataset.littleEndian && width) value = swapped(value, width);
  // A short-length VR cannot carry more than 64 KiB in explicit VR; UN can (PS3.5 6.2.2).
  const vr = !LONG_LENGTH_VRS.has(element.vr) && value.length > 0xffff ? 'UN' : element.vr;
  writer.header(tag, vr, value.length);
  writer.push(value);
}

function text(value: string, pad: string): Uint8Array {
  return new TextEncoder().encode(value.length % 2 ? value + pad : value);
}

function fileMeta(dataset: DicomDataset): Uint8Array {
  const sopClass = (dataset.meta && getString(dataset.meta, Tags.MediaStorageSopClassUid)) || getString(dataset, Tags.SopClassUid) || '';
  const sopInstance = (dataset.meta && getString(dataset.meta, Tags.MediaStorageSopInstanceUid)) || getString(dataset, Tags.SopInstanceUid) || '';
  const body = new Writer();
  const put = (tag: number, vr: string, value: Uint8Array) => {
    body.header(tag, vr, value.length);
    body.push(value);
  };
  put(0x00020001, 'OB', new Uint8Array([0, 1]));
  put(0x00020002, 'UI', text(sopClass, '\0'));
  put(0x00020003, 'UI', text(sopInstance, '\0'));
  put(0x00020010, 'UI', text(EXPLICIT_LITTLE, '\0'));
  put(0x00020012, 'UI', text(IMPLEMENTATION_CLASS_UID, '\0'));
  const meta = new Writer();
  const length = new Uint8Array(4);
  new DataView(length.buffer).setUint32(0, body.size, true);
  meta.header(0x00020000, 'UL', 4);
  meta.push(length);
  meta.push(body.bytes());
  return meta.bytes();
}

/** The dataset as an Explicit VR Little Endian Part 10 file (preamble, DICM, file meta group). */
export function toExplicitLittleEndian(dataset: DicomDataset): Uint8Array {
  if (dataset.deflated) throw new Error('deflated datasets are re-encoded by lib/imaging/decode transcode');
  if (dataset.stoppedAtPixelData) throw new Error('parse the whole file (stopAtPixelData: false) before re-encoding it');
  const writer = new Writer();
  writer.push(new Uint8Array(128));
  writer.push(new TextEncoder().encode('DICM'));
  writer.push(fileMeta(dataset));
  writeItem(writer, dataset, dataset);
  return writer.bytes();
}
