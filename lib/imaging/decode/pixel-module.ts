import { getNumber, getString, Tags, type DicomDataset, type DicomElement } from '@/lib/dicom';
import type { PixelArray } from '../types';
import { PixelDecodeError } from './errors';

/** The Image Pixel attributes that decide how frames are laid out and typed. */
export interface PixelModule {
  rows: number;
  columns: number;
  samplesPerPixel: number;
  photometricInterpretation: string;
  bitsAllocated: number;
  bitsStored: number;
  pixelRepresentation: 0 | 1;
  /** Only meaningful when samplesPerPixel > 1. */
  planarConfiguration: 0 | 1;
  numberOfFrames: number;
  /** Float Pixel Data (7FE0,0008) or Double Float Pixel Data (7FE0,0009). */
  float: 'float32' | 'float64' | null;
}

function invalid(message: string): never {
  throw new PixelDecodeError('invalid_pixel_attributes', message);
}

function integerAttribute(dataset: DicomDataset, tag: number, name: string, fallback?: number): number {
  const value = getNumber(dataset, tag);
  if (value === undefined) {
    if (fallback !== undefined && !dataset.elements.has(tag)) return fallback;
    return invalid(`${name} is missing or not a number`);
  }
  if (!Number.isInteger(value)) invalid(`${name} is ${value}, not an integer`);
  return value;
}

/**
 * Number of Frames as pydicom 2.3 reads it: absent, empty or 0 means one frame; text that is not
 * a whole number ('1A') leaves the frame layout unknown, so it is refused rather than guessed.
 */
function numberOfFrames(dataset: DicomDataset): number {
  const element: DicomElement | undefined = dataset.elements.get(Tags.NumberOfFrames);
  if (!element) return 1;
  const value = element.value;
  if (value.kind === 'numeric-string') {
    if (value.text.length === 0 || value.text[0] === '') return 1;
    const first = value.values[0];
    if (first === null || first === undefined || !Number.isInteger(first) || first < 0) invalid(`Number of Frames is '${value.text[0]}', not a whole number`);
    return Math.max(1, first);
  }
  if (value.kind === 'number') {
    const first = value.values[0];
    if (first === undefined) return 1;
    if (!Number.isInteger(first) || first < 0) invalid(`Number of Frames is ${first}`);
    return Math.max(1, first);
  }
  return invalid('Number of Frames has an unexpected VR');
}

export function readPixelModule(dataset: DicomDataset): PixelModule {
  const tag = dataset.pixelData?.tag;
  const float = tag === Tags.FloatPixelData ? 'float32' : tag === Tags.DoubleFloatPixelData ? 'float64' : null;
  const rows = integerAttribute(dataset, Tags.Rows, 'Rows');
  const columns = integerAttribute(dataset, Tags.Columns, 'Columns');
  if (rows < 1 || columns < 1) invalid(`the image is ${columns} x ${rows}`);
  const samplesPerPixel = integerAttribute(dataset, Tags.SamplesPerPixel, 'Samples per Pixel', 1);
  if (samplesPerPixel < 1 || samplesPerPixel > 4) invalid(`Samples per Pixel is ${samplesPerPixel}`);
  const bitsAllocated = integerAttribute(dataset, Tags.BitsAllocated, 'Bits Allocated', float === 'float32' ? 32 : float === 'float64' ? 64 : undefined);
  if (float === 'float32' && bitsAllocated !== 32) invalid(`Float Pixel Data needs Bits Allocated 32, not ${bitsAllocated}`);
  if (float === 'float64' && bitsAllocated !== 64) invalid(`Double Float Pixel Data needs Bits Allocated 64, not ${bitsAllocated}`);
  if (![1, 8, 16, 32, 64].includes(bitsAllocated)) {
    if (bitsAllocated < 1 || bitsAllocated > 64) invalid(`Bits Allocated is ${bitsAllocated}`);
    throw new PixelDecodeError('unsupported_pixel_format', `Bits Allocated ${bitsAllocated} is not supported`);
  }
  if (bitsAllocated === 64 && !float) throw new PixelDecodeError('unsupported_pixel_format', '64-bit integer pixel data is not supported');
  const bitsStored = integerAttribute(dataset, Tags.BitsStored, 'Bits Stored', bitsAllocated);
  if (bitsStored < 1 || bitsStored > bitsAllocated) invalid(`Bits Stored ${bitsStored} does not fit Bits Allocated ${bitsAllocated}`);
  const pixelRepresentation = integerAttribute(dataset, Tags.PixelRepresentation, 'Pixel Representation', 0);
  if (pixelRepresentation !== 0 && pixelRepresentation !== 1) invalid(`Pixel Representation is ${pixelRepresentation}`);
  const planar = samplesPerPixel > 1 ? integerAttribute(dataset, Tags.PlanarConfiguration, 'Planar Configuration', 0) : 0;
  if (planar !== 0 && planar !== 1) invalid(`Planar Configuration is ${planar}`);
  const photometric = getString(dataset, Tags.PhotometricInterpretation)?.trim().toUpperCase() || (samplesPerPixel === 1 ? 'MONOCHROME2' : 'RGB');
  return {
    rows,
    columns,
    samplesPerPixel,
    photometricInterpretation: photometric,
    bitsAllocated,
    bitsStored,
    pixelRepresentation: pixelRepresentation as 0 | 1,
    planarConfiguration: planar as 0 | 1,
    numberOfFrames: numberOfFrames(dataset),
    float,
  };
}

/** Samples in one decoded frame (1-bit data is unpacked, so one sample per pixel too). */
export function samplesPerFrame(attrs: PixelModule): number {
  return attrs.rows * attrs.columns * attrs.samplesPerPixel;
}

/** Bytes of one decoded frame in memory. */
export function decodedFrameBytes(attrs: PixelModule): number {
  return samplesPerFrame(attrs) * Math.max(1, attrs.bitsAllocated / 8);
}

/** A zeroed array of the type pydicom gives for these attributes. */
export function allocatePixels(attrs: PixelModule, length: number): PixelArray {
  const signed = attrs.pixelRepresentation === 1;
  if (attrs.float === 'float32') return new Float32Array(length);
  if (attrs.float === 'float64') return new Float64Array(length);
  switch (attrs.bitsAllocated) {
    case 1:
      return new Uint8Array(length);
    case 8:
      return signed ? new Int8Array(length) : new Uint8Array(length);
    case 16:
      return signed ? new Int16Array(length) : new Uint16Array(length);
    case 32:
      return signed ? new Int32Array(length) : new Uint32Array(length);
    default:
      throw new PixelDecodeError('unsupported_pixel_format', `Bits Allocated ${attrs.bitsAllocated} is not supported`);
  }
}

/**
 * Codecs return the stored bits as unsigned numbers; a signed value narrower than its container
 * must have its sign bit copied upwards (12-bit -1 is 0x0FFF in the codestream, 0xFFFF in memory).
 */
export function signExtend(data: PixelArray, attrs: PixelModule): void {
  if (attrs.pixelRepresentation !== 1 || attrs.float || attrs.bitsStored >= attrs.bitsAllocated) return;
  const shift = 32 - attrs.bitsStored;
  for (let i = 0; i < data.length; i++) data[i] = (data[i]! << shift) >> shift;
}
