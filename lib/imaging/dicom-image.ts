import {
  extractMetadata,
  getElement,
  getElementBytes,
  getNumbers,
  makeTag,
  parseDicom,
  type DicomDataset,
  type DicomMetadata,
} from '@/lib/dicom';
import { decodeFrame } from './decode';
import type { CachedFrame } from './frame-cache';
import type { Allocate } from './scratch';
import { renderFrame, type Palette, type RenderedImage, type Window } from './render';

const PALETTE_DESCRIPTORS = [makeTag(0x0028, 0x1101), makeTag(0x0028, 0x1102), makeTag(0x0028, 0x1103)] as const;
const PALETTE_DATA = [makeTag(0x0028, 0x1201), makeTag(0x0028, 0x1202), makeTag(0x0028, 0x1203)] as const;

/** Expands the red/green/blue Palette Colour LUTs of a PALETTE COLOR image. */
export function paletteOf(dataset: DicomDataset): Palette | null {
  const luts: Uint16Array[] = [];
  let firstMapped = 0;
  let bits = 16;
  for (let c = 0; c < 3; c++) {
    const descriptor = getNumbers(dataset, PALETTE_DESCRIPTORS[c]!);
    const element = getElement(dataset, PALETTE_DATA[c]!);
    const bytes = element && getElementBytes(dataset, element);
    if (!descriptor || descriptor.length < 3 || !bytes) return null;
    const entries = descriptor[0] === 0 ? 65536 : descriptor[0]!;
    firstMapped = descriptor[1]!;
    bits = descriptor[2]!;
    const lut = new Uint16Array(entries);
    // 8-bit LUTs are sometimes packed one entry per byte instead of one per 16-bit word.
    const packed = bits === 8 && bytes.length === entries;
    for (let i = 0; i < entries; i++) {
      if (packed) lut[i] = bytes[i] ?? 0;
      else {
        const lo = bytes[i * 2] ?? 0;
        const hi = bytes[i * 2 + 1] ?? 0;
        lut[i] = dataset.littleEndian ? lo | (hi << 8) : (lo << 8) | hi;
      }
    }
    luts.push(lut);
  }
  return { firstMapped, bits, red: luts[0]!, green: luts[1]!, blue: luts[2]! };
}

export interface DicomRenderRequest {
  frame: number;
  /** Explicit VOI window; otherwise `voi` decides. */
  window?: Window | null;
  /** 'file': the first window stored in the file, falling back to min-max; 'minmax': min-max. */
  voi?: 'file' | 'minmax';
  invert?: boolean;
}

export function fileWindow(meta: DicomMetadata): Window | null {
  const center = meta.windowCenter?.[0];
  const width = meta.windowWidth?.[0];
  return typeof center === 'number' && typeof width === 'number' && width > 0 ? { center, width } : null;
}

/** Parses and decodes one frame, with what rendering needs from the header. */
export async function decodeDicomFrame(bytes: Uint8Array, frameIndex: number, options: { allocate?: Allocate } = {}): Promise<CachedFrame> {
  const dataset = parseDicom(bytes, { stopAtPixelData: false });
  const meta = extractMetadata(dataset);
  const frame = await decodeFrame(dataset, frameIndex, { allocate: options.allocate });
  return { frame, meta, palette: frame.photometricInterpretation === 'PALETTE COLOR' ? paletteOf(dataset) : null };
}

/** Renders a decoded frame with the requested (or the file's, or min-max) window. */
export function renderDecoded(
  decoded: CachedFrame,
  request: Omit<DicomRenderRequest, 'frame'>,
  options: { allocate?: Allocate } = {},
): { image: RenderedImage; meta: DicomMetadata; window: Window | null } {
  const { frame, meta, palette } = decoded;
  const window = request.window ?? (request.voi === 'minmax' ? null : fileWindow(meta));
  const image = renderFrame(frame, {
    rescaleSlope: meta.rescaleSlope,
    rescaleIntercept: meta.rescaleIntercept,
    window,
    invert: request.invert,
    palette,
    allocate: options.allocate,
  });
  return { image, meta, window };
}

/** Parses, decodes and renders one frame of a DICOM file. */
export async function renderDicom(bytes: Uint8Array, request: DicomRenderRequest): Promise<{ image: RenderedImage; meta: DicomMetadata; window: Window | null }> {
  return renderDecoded(await decodeDicomFrame(bytes, request.frame), request);
}
