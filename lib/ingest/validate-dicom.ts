import { getElement, Tags, type DicomDataset, type DicomMetadata } from '@/lib/dicom';

export interface DicomProblem {
  reason: string;
  message: string;
}

const IMAGE_ATTRIBUTES = [
  ['Rows', Tags.Rows, 'rows'],
  ['Columns', Tags.Columns, 'columns'],
  ['NumberOfFrames', Tags.NumberOfFrames, 'numberOfFrames'],
  ['BitsAllocated', Tags.BitsAllocated, 'bitsAllocated'],
  ['SamplesPerPixel', Tags.SamplesPerPixel, 'samplesPerPixel'],
] as const;

/**
 * Checks what an image's header promises against what the file holds, without decoding: every
 * image attribute that is present must be readable, and native pixel data must be long enough for
 * Rows × Columns × Samples × Bits × Frames. Catches damaged files the structure alone lets through.
 */
export function findDicomProblem(dataset: DicomDataset, meta: DicomMetadata): DicomProblem | null {
  for (const [keyword, tag, field] of IMAGE_ATTRIBUTES) {
    if (getElement(dataset, tag) && meta[field] === null) {
      return { reason: 'invalid_value', message: `${keyword} holds a value that is not a number` };
    }
  }
  const pixels = dataset.pixelData;
  if (!pixels || pixels.encapsulated || pixels.length === undefined) return null;
  const { rows, columns, bitsAllocated } = meta;
  if (!rows || !columns || !bitsAllocated) {
    return { reason: 'missing_image_attributes', message: 'Pixel Data without Rows, Columns and Bits Allocated' };
  }
  const samples = meta.samplesPerPixel ?? 1;
  const frames = meta.numberOfFrames ?? 1;
  const bits = rows * columns * samples * frames * bitsAllocated;
  const expected = Math.ceil(bits / 8);
  if (pixels.length < expected) {
    return {
      reason: 'pixel_data_too_short',
      message: `Pixel Data holds ${pixels.length} bytes but ${rows}×${columns}×${samples}×${frames} pixels of ${bitsAllocated} bits need ${expected}`,
    };
  }
  return null;
}
