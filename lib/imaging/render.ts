import type { Allocate } from './scratch';
import type { DecodedFrame, PixelArray } from './types';

/** A rendered 8-bit image, samples interleaved. */
export interface RenderedImage {
  width: number;
  height: number;
  channels: 1 | 3;
  data: Uint8Array;
}

export interface Window {
  center: number;
  width: number;
}

/** Red, green and blue Palette Colour LUTs (PS3.3 C.7.6.3.1.5), already expanded. */
export interface Palette {
  firstMapped: number;
  bits: number;
  red: Uint16Array;
  green: Uint16Array;
  blue: Uint16Array;
}

export interface RenderOptions {
  /** Modality LUT as Rescale Slope/Intercept (identity when absent). */
  rescaleSlope?: number | null;
  rescaleIntercept?: number | null;
  /** VOI window in rescaled units; absent: min-max of the frame (as dcmtk's +Wm). */
  window?: Window | null;
  /** Invert the output (on top of MONOCHROME1, which is always shown inverted). */
  invert?: boolean;
  palette?: Palette | null;
  /** Where the output pixels come from (zeroed memory; default: a new array). */
  allocate?: Allocate;
}

function output(length: number, allocate: Allocate | undefined): Uint8Array {
  return allocate ? new Uint8Array(allocate(length), 0, length) : new Uint8Array(length);
}

export interface FrameRange {
  min: number;
  max: number;
}

/** Smallest and largest rescaled value of a monochrome frame, ignoring NaN. */
export function rescaledRange(data: PixelArray | Float32Array, slope = 1, intercept = 0): FrameRange {
  const range = storedRange(data);
  return range.min === Infinity ? { min: 0, max: 0 } : rescaled(range, slope, intercept);
}

/** The min-max window as dcmtk computes it (centre = mid-range, width = range). */
export function minMaxWindow(range: FrameRange): Window {
  return { center: (range.min + range.max) / 2, width: Math.max(range.max - range.min, 1) };
}

/**
 * A 256-entry-per-input lookup would be faster for small bit depths, but windows are floats and
 * inputs may be float or 32-bit; the per-pixel linear function is the DICOM one (PS3.3 C.11.2.1.2.1).
 */
function voiLinear(x: number, c: number, w: number): number {
  if (w <= 1) return x <= c - 0.5 ? 0 : 255;
  const low = c - 0.5 - (w - 1) / 2;
  const high = c - 0.5 + (w - 1) / 2;
  if (x <= low) return 0;
  if (x > high) return 255;
  return ((x - (c - 0.5)) / (w - 1) + 0.5) * 255;
}

/** Smallest and largest stored value, ignoring NaN (Infinity/-Infinity when there is none). */
function storedRange(data: PixelArray | Float32Array): FrameRange {
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return { min, max };
}

const isIntegerArray = (data: PixelArray | Float32Array): boolean => !(data instanceof Float32Array || data instanceof Float64Array);

// Integer frames spanning more values than this are mapped pixel by pixel instead.
const MAX_LUT_ENTRIES = 1 << 16;

/** Offset that turns a sample of an 8- or 16-bit integer array into an index from 0. */
function narrowIntegerOffset(data: PixelArray | Float32Array): number | null {
  if (data instanceof Uint8Array || data instanceof Uint16Array) return 0;
  if (data instanceof Int16Array) return 32768;
  if (data instanceof Int8Array) return 128;
  return null;
}

// Windows repeat across the slices of a series (and across requests): the full-range lookup
// tables of the last few are kept, 64 KB each at most.
const lutCache = new Map<string, Uint8Array>();
const LUT_CACHE_ENTRIES = 16;

function renderMonochrome(frame: DecodedFrame | { rows: number; columns: number; data: PixelArray | Float32Array; photometricInterpretation: string }, options: RenderOptions): RenderedImage {
  const slope = options.rescaleSlope ?? 1;
  const intercept = options.rescaleIntercept ?? 0;
  const data = frame.data;
  const invert = (frame.photometricInterpretation === 'MONOCHROME1') !== !!options.invert;
  const out = output(frame.rows * frame.columns, options.allocate);
  const offset = narrowIntegerOffset(data);
  if (options.window && offset !== null) {
    // 8/16-bit samples with a known window: one pass through a lookup table over every value
    // the type can hold, built with the same per-value function (so the same bytes).
    const { center, width } = options.window;
    const size = data instanceof Uint16Array || data instanceof Int16Array ? 65536 : 256;
    const key = `${size}|${offset}|${slope}|${intercept}|${center}|${width}|${invert}`;
    let lut = lutCache.get(key);
    if (!lut) {
      lut = new Uint8Array(size);
      for (let v = 0; v < size; v++) {
        const byte = Math.round(voiLinear((v - offset) * slope + intercept, center, width));
        lut[v] = invert ? 255 - byte : byte;
      }
      if (lutCache.size >= LUT_CACHE_ENTRIES) lutCache.delete(lutCache.keys().next().value!);
      lutCache.set(key, lut);
    }
    mapThrough(data as Uint8Array | Uint16Array | Int16Array | Int8Array, lut, offset, out);
    return { width: frame.columns, height: frame.rows, channels: 1, data: out };
  }
  const stored = storedRange(data);
  const range = options.window ? null : stored.min === Infinity ? { min: 0, max: 0 } : rescaled(stored, slope, intercept);
  // A flat frame has no range to stretch: show it black (as dcmtk does) rather than white.
  const window = options.window ?? (range!.max === range!.min ? { center: range!.min + 1, width: 1 } : minMaxWindow(range!));
  const { center, width } = window;
  const toByte = (stored: number) => {
    const byte = Math.round(voiLinear(stored * slope + intercept, center, width));
    return invert ? 255 - byte : byte;
  };
  if (isIntegerArray(data) && stored.min !== Infinity && stored.max - stored.min < MAX_LUT_ENTRIES) {
    // Integer samples take few distinct values: map each once (the same function, so the same
    // bytes) instead of once per pixel.
    const base = stored.min;
    const lut = new Uint8Array(stored.max - base + 1);
    for (let v = 0; v < lut.length; v++) lut[v] = toByte(v + base);
    for (let i = 0; i < out.length; i++) out[i] = lut[data[i]! - base]!;
  } else {
    for (let i = 0; i < out.length; i++) out[i] = toByte(data[i]!);
  }
  return { width: frame.columns, height: frame.rows, channels: 1, data: out };
}

function mapThrough(data: Uint8Array | Uint16Array | Int16Array | Int8Array, lut: Uint8Array, offset: number, out: Uint8Array): void {
  const n = out.length;
  for (let i = 0; i < n; i++) out[i] = lut[data[i]! + offset]!;
}

function rescaled(range: FrameRange, slope: number, intercept: number): FrameRange {
  const a = range.min * slope + intercept;
  const b = range.max * slope + intercept;
  return { min: Math.min(a, b), max: Math.max(a, b) };
}

function renderPalette(frame: DecodedFrame, palette: Palette, invert: boolean, allocate?: Allocate): RenderedImage {
  const out = output(frame.rows * frame.columns * 3, allocate);
  const last = palette.red.length - 1;
  const shift = Math.max(0, palette.bits - 8);
  for (let i = 0; i < frame.rows * frame.columns; i++) {
    const index = Math.min(last, Math.max(0, frame.data[i]! - palette.firstMapped));
    const r = palette.red[index]! >> shift;
    const g = palette.green[index]! >> shift;
    const b = palette.blue[index]! >> shift;
    out[i * 3] = invert ? 255 - r : r;
    out[i * 3 + 1] = invert ? 255 - g : g;
    out[i * 3 + 2] = invert ? 255 - b : b;
  }
  return { width: frame.columns, height: frame.rows, channels: 3, data: out };
}

const clampByte = (v: number) => (v < 0 ? 0 : v > 255 ? 255 : Math.round(v));

function renderColour(frame: DecodedFrame, invert: boolean, allocate?: Allocate): RenderedImage {
  const n = frame.rows * frame.columns;
  const out = output(n * 3, allocate);
  const shift = Math.max(0, frame.bitsStored - 8);
  const ybr = frame.photometricInterpretation.startsWith('YBR_FULL');
  for (let i = 0; i < n; i++) {
    let r = frame.data[i * 3]! >> shift;
    let g = frame.data[i * 3 + 1]! >> shift;
    let b = frame.data[i * 3 + 2]! >> shift;
    if (ybr) {
      // YBR_FULL to RGB (PS3.3 C.7.6.3.1.2), full range.
      const y = r;
      const cb = g - 128;
      const cr = b - 128;
      r = clampByte(y + 1.402 * cr);
      g = clampByte(y - 0.344136 * cb - 0.714136 * cr);
      b = clampByte(y + 1.772 * cb);
    }
    out[i * 3] = invert ? 255 - r : r;
    out[i * 3 + 1] = invert ? 255 - g : g;
    out[i * 3 + 2] = invert ? 255 - b : b;
  }
  return { width: frame.columns, height: frame.rows, channels: 3, data: out };
}

/**
 * Turns a decoded frame into display pixels: Modality LUT (rescale) → VOI window → Presentation
 * (MONOCHROME1 inverted) for greyscale; palette lookup for PALETTE COLOR; YBR to RGB for colour.
 */
export function renderFrame(frame: DecodedFrame, options: RenderOptions = {}): RenderedImage {
  const photometric = frame.photometricInterpretation;
  if (photometric === 'PALETTE COLOR') {
    if (!options.palette) throw new Error('PALETTE COLOR image without palette LUTs');
    return renderPalette(frame, options.palette, !!options.invert, options.allocate);
  }
  if (frame.samplesPerPixel >= 3) return renderColour(frame, !!options.invert, options.allocate);
  return renderMonochrome(frame, options);
}

/** Renders a slice of real values (e.g. scaled NIfTI voxels) as greyscale. */
export function renderValues(values: Float32Array | PixelArray, width: number, height: number, window: Window | null, invert = false): RenderedImage {
  return renderMonochrome({ rows: height, columns: width, data: values, photometricInterpretation: 'MONOCHROME2' }, { window, invert });
}
