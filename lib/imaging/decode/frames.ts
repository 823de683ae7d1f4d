import { getElementBytes, getEncapsulatedFrames, getFragmentBytes, type DicomDataset, type PixelDataFragment } from '@/lib/dicom';
import { CodecError } from './errors';

const EXTENDED_OFFSET_TABLE = 0x7fe00001;

/**
 * Groups by the Extended Offset Table (PS3.3 C.7.6.3.1.8), which large multi-frame objects carry
 * instead of a Basic Offset Table; its offsets count from the first fragment's item tag, as the
 * Basic Offset Table's do.
 */
function framesByExtendedTable(dataset: DicomDataset, frames: number): PixelDataFragment[][] | undefined {
  const element = dataset.elements.get(EXTENDED_OFFSET_TABLE);
  const pixelData = dataset.pixelData;
  const fragments = pixelData?.fragments;
  const base = pixelData?.firstFragmentOffset;
  if (!element || !fragments || base === undefined || (pixelData.basicOffsetTable?.length ?? 0) > 0) return undefined;
  const bytes = getElementBytes(dataset, element);
  if (!bytes || bytes.length !== frames * 8) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const starts: number[] = [];
  for (let i = 0; i < frames; i++) {
    const offset = view.getBigUint64(i * 8, dataset.littleEndian);
    if (offset > BigInt(Number.MAX_SAFE_INTEGER)) return undefined;
    starts.push(base + Number(offset));
  }
  const grouped = starts.map((start, i) => fragments.filter((f) => f.itemOffset >= start && f.itemOffset < (starts[i + 1] ?? Number.POSITIVE_INFINITY)));
  return grouped.every((group) => group.length > 0) ? grouped : undefined;
}

/** The bytes of one encapsulated frame: its fragments, concatenated when there are several. */
export function encapsulatedFrameBytes(dataset: DicomDataset, frames: number, frameIndex: number): Uint8Array {
  const grouped = framesByExtendedTable(dataset, frames) ?? getEncapsulatedFrames(dataset, frames);
  if (!grouped) throw new CodecError(`the pixel data fragments cannot be split into ${frames} frame(s)`);
  const group = grouped[frameIndex];
  if (!group || group.length === 0) throw new CodecError(`frame ${frameIndex + 1} has no fragments`);
  const chunks = group.map((fragment) => {
    const bytes = getFragmentBytes(dataset, fragment);
    if (!bytes) throw new CodecError('a pixel data fragment lies outside the data');
    return bytes;
  });
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(chunks.reduce((sum, chunk) => sum + chunk.length, 0));
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}
