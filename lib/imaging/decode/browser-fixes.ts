/**
 * What a browser copy changes, besides decoding, so that dwv 0.36 shows what the file holds. Each
 * change answers a specific dwv behaviour (see the notes on BrowserFix); values are kept exactly
 * wherever the target format can hold them.
 */
import { getNumber, getString, Tags, type DicomDataset } from '@/lib/dicom';
import type { DecodedFrame } from '../types';
import { decimalString, encodeElement, text, uint16, type ElementOverrides } from './rewrite';

/**
 * - `decode`: a transfer syntax dwv cannot decode, or decodes wrongly (JPEG-LS, deflate, 12-bit
 *   JPEG, baseline JPEG holding RGB).
 * - `jp2-wrapper`: JPEG 2000 frames inside a JP2 file (boxes); dwv's decoder (pdf.js) reads the
 *   boxes and then fails on the byte that pads the fragment to even length. Unwrapped to the raw
 *   codestream, still compressed. (JPEG 2000 that dwv's decoder gets wrong whatever the wrapper,
 *   several tiles or signed samples, is decoded instead: see pixelFixes.)
 * - `int32`: 32-bit integer pixels, which dwv reads as Float32 (and then spends minutes on a
 *   lookup table over the nonsense range); written as 16-bit with the Rescale Slope / Intercept
 *   adjusted (RT Dose Grid Scaling folded in), exact when the values allow; LINEAR_EXACT windows
 *   when the values span less than 256 units.
 * - `odd-colour`: native 8-bit colour with an odd number of pixels: the value is padded to even
 *   length, and dwv then keeps only Rows × Columns bytes of it (not × Samples). Written as 16-bit
 *   samples (same values), whose length is even by itself.
 * - `segmentation`: a DICOM SEG, which dwv only shows as a mask over the series it references;
 *   opened on its own it becomes its frames as an ordinary 8-bit image (1-bit unpacked, values
 *   kept), Modality OT.
 * - `uids`: UIDs the catalogue gave a file that has none (lib/ingest), so that dwv can tell its
 *   images apart and the viewer can tie them to instances.
 * - `un-vr`: top-level elements stored as UN although their VR is known (some converters do
 *   this): dwv keeps those as bytes, and a SOP Class UID that is not text stops it drawing.
 */
export type BrowserFix = 'decode' | 'jp2-wrapper' | 'int32' | 'odd-colour' | 'segmentation' | 'uids' | 'un-vr';

/** Fixes that need every frame decoded to native pixels. */
export const DECODING_FIXES: ReadonlySet<BrowserFix> = new Set(['decode', 'int32', 'odd-colour', 'segmentation']);

const BITS_ALLOCATED = 0x00280100;
const BITS_STORED = 0x00280101;
const HIGH_BIT = 0x00280102;
const PIXEL_REPRESENTATION = 0x00280103;
const RESCALE_TYPE = 0x00281054;
const VOI_LUT_FUNCTION = 0x00281056;
const LOSSY_IMAGE_COMPRESSION = 0x00282110;
const DOSE_UNITS = 0x30040002;
const DOSE_GRID_SCALING = 0x3004000e;
/** Attributes in stored-value units, which a change of the stored values makes wrong. */
const STORED_VALUE_ATTRIBUTES = [0x00280106, 0x00280107, 0x00280108, 0x00280109, 0x00280120, 0x00280121];

export type Encode = (tag: number, vr: string, value: Uint8Array) => Uint8Array;

export function encoderFor(dataset: DicomDataset): Encode {
  return (tag, vr, value) => encodeElement(tag, vr, value, dataset.explicitVr);
}

const ds = (encode: Encode, tag: number, value: number) => encode(tag, 'DS', text(decimalString(value), 'DS'));
const us = (encode: Encode, tag: number, value: number) => encode(tag, 'US', uint16(value));

/** The result of a pixel fix: new frames (same geometry) and the elements that describe them. */
export interface FixedPixels {
  frames: DecodedFrame[];
  overrides: ElementOverrides;
  /** The stored values could not all be kept (a 32-bit range wider than 16 bits). */
  lossy: boolean;
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

/**
 * 32-bit integers as 16-bit unsigned: stored' = (v − min) / step, with step the greatest common
 * divisor of all (v − min) when the range then fits 16 bits (exact: dose grids are often
 * multiples of some unit), else the smallest step that fits (rounded, marked lossy). The Modality
 * LUT keeps what the values meant: slope' = slope × step, intercept' = intercept + slope × min,
 * where an RT Dose's Dose Grid Scaling is the slope (moved into the rescale, with the dose units
 * as Rescale Type, since dwv knows no dose scaling).
 */
export function narrowInt32(frames: DecodedFrame[], dataset: DicomDataset, encode: Encode): FixedPixels {
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (const { data } of frames) {
    for (let i = 0; i < data.length; i++) {
      const v = data[i]!;
      if (v < min) min = v;
      if (v > max) max = v;
    }
  }
  if (!Number.isFinite(min)) min = max = 0;
  let step = 0;
  for (const { data } of frames) {
    for (let i = 0; i < data.length && step !== 1; i++) step = gcd(step, data[i]! - min);
    if (step === 1) break;
  }
  step ||= 1;
  const exact = (max - min) / step <= 0xffff;
  if (!exact) step = Math.ceil((max - min) / 0xffff);

  const dose = getString(dataset, Tags.Modality)?.trim() === 'RTDOSE' ? getNumber(dataset, DOSE_GRID_SCALING) : undefined;
  const slope = dose ?? getNumber(dataset, Tags.RescaleSlope) ?? 1;
  const intercept = dose !== undefined ? 0 : (getNumber(dataset, Tags.RescaleIntercept) ?? 0);

  const overrides: ElementOverrides = new Map([
    [BITS_ALLOCATED, us(encode, BITS_ALLOCATED, 16)],
    [BITS_STORED, us(encode, BITS_STORED, 16)],
    [HIGH_BIT, us(encode, HIGH_BIT, 15)],
    [PIXEL_REPRESENTATION, us(encode, PIXEL_REPRESENTATION, 0)],
    [Tags.RescaleIntercept, ds(encode, Tags.RescaleIntercept, intercept + slope * min)],
    [Tags.RescaleSlope, ds(encode, Tags.RescaleSlope, slope * step)],
  ]);
  for (const tag of STORED_VALUE_ATTRIBUTES) overrides.set(tag, null);
  if (dose !== undefined) {
    overrides.set(DOSE_GRID_SCALING, null);
    const units = getString(dataset, DOSE_UNITS)?.trim();
    if (units) overrides.set(RESCALE_TYPE, encode(RESCALE_TYPE, 'LO', text(units, 'LO')));
  }
  if (!exact) overrides.set(LOSSY_IMAGE_COMPRESSION, encode(LOSSY_IMAGE_COMPRESSION, 'CS', text('01', 'CS')));
  // Doses in Gy span less than one unit, and the LINEAR window function needs a width of at
  // least 1 (dwv then draws everything white); LINEAR_EXACT takes any width.
  if (Math.abs(slope) * (max - min) < 256) overrides.set(VOI_LUT_FUNCTION, encode(VOI_LUT_FUNCTION, 'CS', text('LINEAR_EXACT', 'CS')));
  return {
    frames: frames.map((frame) => {
      const data = new Uint16Array(frame.data.length);
      for (let i = 0; i < data.length; i++) data[i] = Math.round((frame.data[i]! - min) / step);
      return { ...frame, bitsAllocated: 16, bitsStored: 16, pixelRepresentation: 0, data };
    }),
    overrides,
    lossy: !exact,
  };
}

/** 8-bit colour samples in 16-bit containers: the same values, an even number of bytes. */
export function widenColour(frames: DecodedFrame[], encode: Encode): FixedPixels {
  return {
    frames: frames.map((frame) => ({ ...frame, bitsAllocated: 16, data: Uint16Array.from(frame.data) })),
    overrides: new Map([[BITS_ALLOCATED, us(encode, BITS_ALLOCATED, 16)]]),
    lossy: false,
  };
}

/**
 * A segmentation as an ordinary image of its frames: Modality OT (dwv treats SEG as a mask of
 * another series), 1-bit frames as 8-bit 0/1 with a window that shows 1 white.
 */
export function segmentationAsImage(frames: DecodedFrame[], encode: Encode): FixedPixels {
  const overrides: ElementOverrides = new Map([[Tags.Modality, encode(Tags.Modality, 'CS', text('OT', 'CS'))]]);
  if (frames[0]?.bitsAllocated !== 1) return { frames, overrides, lossy: false };
  overrides.set(BITS_ALLOCATED, us(encode, BITS_ALLOCATED, 8));
  overrides.set(BITS_STORED, us(encode, BITS_STORED, 8));
  overrides.set(HIGH_BIT, us(encode, HIGH_BIT, 7));
  overrides.set(Tags.WindowCenter, ds(encode, Tags.WindowCenter, 0.5));
  overrides.set(Tags.WindowWidth, ds(encode, Tags.WindowWidth, 1));
  return { frames: frames.map((frame) => ({ ...frame, bitsAllocated: 8, bitsStored: 8, data: Uint8Array.from(frame.data) })), overrides, lossy: false };
}

/** Encapsulated Pixel Data of one fragment per frame, with a Basic Offset Table. */
export function encapsulatedPixelData(frames: Uint8Array[]): Uint8Array {
  const padded = frames.map((f) => f.length + (f.length % 2));
  const table = new Uint8Array(4 * frames.length);
  const tableView = new DataView(table.buffer);
  let offset = 0;
  padded.forEach((length, i) => {
    tableView.setUint32(4 * i, offset, true);
    offset += 8 + length;
  });
  const size = 12 + 8 + table.length + offset + 8;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  const item = (at: number, tag: number, length: number) => {
    view.setUint16(at, 0xfffe, true);
    view.setUint16(at + 2, tag, true);
    view.setUint32(at + 4, length, true);
  };
  view.setUint16(0, 0x7fe0, true);
  view.setUint16(2, 0x0010, true);
  out[4] = 0x4f; // 'O'
  out[5] = 0x42; // 'B'
  view.setUint32(8, 0xffffffff, true);
  item(12, 0xe000, table.length);
  out.set(table, 20);
  let at = 20 + table.length;
  frames.forEach((frame, i) => {
    item(at, 0xe000, padded[i]!);
    out.set(frame, at + 8);
    at += 8 + padded[i]!;
  });
  item(at, 0xe0dd, 0);
  return out;
}
