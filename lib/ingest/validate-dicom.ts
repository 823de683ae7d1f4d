import {
  CodestreamError,
  codestreamFamily,
  getElement,
  getEncapsulatedFrames,
  getFragmentBytes,
  readCodestreamHeader,
  Tags,
  type DicomDataset,
  type DicomMetadata,
} from '@/lib/dicom';

export interface DicomProblem {
  reason: string;
  message: string;
}

// PS3.5 9.1: digits and dots, starting with a digit, at most 64 characters. Leading zeros and
// empty components are tolerated (old writers produce them); anything else is not a UID but text smuggled into one.
const UID_SYNTAX = /^(?=.{1,64}$)[0-9]+(\.[0-9]*)*$/;

const UID_ATTRIBUTES = [
  ['Study Instance UID', 'studyInstanceUid'],
  ['Series Instance UID', 'seriesInstanceUid'],
  ['SOP Instance UID', 'sopInstanceUid'],
  ['SOP Class UID', 'sopClassUid'],
] as const;

/**
 * UIDs become keys of the catalogue and parts of DICOMweb URLs: one that holds anything but
 * digits and dots (a path, a NUL, a script) is refused rather than carried along.
 */
export function findUidProblem(meta: DicomMetadata): DicomProblem | null {
  for (const [name, field] of UID_ATTRIBUTES) {
    const value = meta[field];
    if (value && !UID_SYNTAX.test(value)) {
      const shown = JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value);
      return { reason: 'invalid_uid', message: `${name} ${shown} is not a DICOM UID (digits and dots, at most 64 characters)` };
    }
  }
  return null;
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
  if (pixels?.encapsulated) return findCodestreamProblem(dataset, meta);
  if (!pixels || pixels.length === undefined) return null;
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

/**
 * Each compressed frame's own header must describe the image the DICOM header describes. Only
 * when all fragments were read (the header prefix held them); otherwise decoding will judge.
 */
function findCodestreamProblem(dataset: DicomDataset, meta: DicomMetadata): DicomProblem | null {
  const family = codestreamFamily(dataset.transferSyntaxUid ?? meta.transferSyntaxUid);
  if (!family || !dataset.pixelData?.complete) return null;
  const frames = getEncapsulatedFrames(dataset, meta.numberOfFrames ?? 1) ?? [dataset.pixelData.fragments ?? []];
  const samples = meta.samplesPerPixel ?? 1;
  for (const [index, frame] of frames.entries()) {
    const first = frame[0] && getFragmentBytes(dataset, frame[0]);
    if (!first) return { reason: 'codestream_missing', message: `frame ${index + 1} has no data` };
    let header;
    try {
      header = readCodestreamHeader(first, family);
    } catch (error) {
      if (error instanceof CodestreamError) return { reason: 'corrupt_codestream', message: `frame ${index + 1}: ${error.message}` };
      throw error;
    }
    const mismatch =
      family === 'rle'
        ? header.segments !== samples * Math.ceil((meta.bitsAllocated ?? 8) / 8)
        : (header.columns !== 0 && header.columns !== meta.columns) ||
          (header.rows !== 0 && header.rows !== meta.rows) ||
          header.components !== samples;
    if (mismatch) {
      const found = family === 'rle' ? `${header.segments} RLE segments` : `${header.columns}×${header.rows}, ${header.components} component(s)`;
      return {
        reason: 'corrupt_codestream',
        message: `frame ${index + 1}'s compressed data describes ${found}, not the ${meta.columns}×${meta.rows}, ${samples} sample(s) the header declares`,
      };
    }
  }
  return null;
}
