/**
 * Shared by the decode tests: pixel reference values of the corpus fixtures and small helpers.
 * (Not a test file itself; vitest only collects *.test.ts.)
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import * as dwv from 'dwv';
import { parseDicom, type DicomDataset } from '@/lib/dicom';
import { widenToAllFrames } from '@/lib/ui/viewer/dwv-range';
import type { PixelArray } from '../../types';

export interface Stats {
  min: number;
  max: number;
  mean: number;
}

export interface PixelReference {
  lossless: boolean | null;
  dtype?: string;
  array_shape?: number[];
  frame0_sha256?: string;
  frame0_stored?: Stats;
  /** YBR JPEG only: frame 0 after pydicom's YBR_FULL → RGB conversion. */
  frame0_rgb?: Stats;
  colour_note?: string;
  /** Multi-frame only (none has a rescale): stored-value range over all frames. */
  all_frames_after_rescale?: Stats;
  pydicom_pixel_array?: string;
  error?: string;
}

export const pixelReferences: Record<string, PixelReference> = (
  JSON.parse(readFileSync(path.join(import.meta.dirname, 'pixels.json'), 'utf8')) as { files: Record<string, PixelReference> }
).files;

export const fixturePath = (id: string) => path.resolve(import.meta.dirname, '../../../dicom/__fixtures__', `${id}.dcm`);

export function readFixture(id: string): Uint8Array {
  return new Uint8Array(readFileSync(fixturePath(id)));
}

export function parseFixture(id: string): DicomDataset {
  return parseDicom(readFixture(id), { stopAtPixelData: false });
}

/** sha256 of the samples as little-endian bytes, row-major: how the corpus hashed pydicom's array. */
export function sha256(data: PixelArray): string {
  const bytes = new Uint8Array(data.byteLength);
  const view = new DataView(bytes.buffer);
  const width = data.BYTES_PER_ELEMENT;
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (data instanceof Float32Array) view.setFloat32(i * 4, v, true);
    else if (data instanceof Float64Array) view.setFloat64(i * 8, v, true);
    else if (width === 1) bytes[i] = v & 0xff;
    else if (width === 2) view.setUint16(i * 2, v & 0xffff, true);
    else view.setUint32(i * 4, v >>> 0, true);
  }
  return createHash('sha256').update(bytes).digest('hex');
}

export function stats(arrays: PixelArray[]): Stats {
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  let count = 0;
  for (const data of arrays) {
    for (let i = 0; i < data.length; i++) {
      const v = data[i]!;
      if (v < min) min = v;
      if (v > max) max = v;
      sum += v;
    }
    count += data.length;
  }
  return { min, max, mean: sum / count };
}

/** Typed-array name for a numpy dtype as the corpus writes it ('>i2' is big-endian int16). */
export function arrayTypeOf(dtype: string): string {
  const kind = dtype.replace(/^[<>|=]/, '');
  return (
    {
      uint8: 'Uint8Array',
      u1: 'Uint8Array',
      int8: 'Int8Array',
      i1: 'Int8Array',
      uint16: 'Uint16Array',
      u2: 'Uint16Array',
      int16: 'Int16Array',
      i2: 'Int16Array',
      uint32: 'Uint32Array',
      u4: 'Uint32Array',
      int32: 'Int32Array',
      i4: 'Int32Array',
      float32: 'Float32Array',
      f4: 'Float32Array',
      float64: 'Float64Array',
      f8: 'Float64Array',
    } as Record<string, string>
  )[kind] ?? `unknown dtype ${dtype}`;
}

const require = createRequire(import.meta.url);

/**
 * Loads the sources of one of dwv's decoder workers (they ship in the workers' source maps) as
 * ES modules, so that tests can run the very decoder the browser will.
 */
export async function loadDwvWorkerModule<T>(worker: string, files: string[], main: string): Promise<T> {
  const mapFile = path.join(path.dirname(require.resolve('dwv')), `assets/workers/${worker}.worker.min.js.map`);
  const map = JSON.parse(readFileSync(mapFile, 'utf8')) as { sources: string[]; sourcesContent: string[] };
  const folder = mkdtempSync(path.join(os.tmpdir(), `dwv-${worker}-`));
  for (const name of files) {
    const index = map.sources.findIndex((source) => source.endsWith(`/${name}`));
    if (index < 0) throw new Error(`${name} is not in dwv's ${worker} worker`);
    writeFileSync(path.join(folder, name), map.sourcesContent[index]!);
  }
  return (await import(pathToFileURL(path.join(folder, main)).href)) as T;
}

interface DwvView {
  generateImageData(data: { data: Uint8ClampedArray; width: number; height: number }, index: unknown): void;
  getWindowLevel(): { center: number; width: number };
}

/**
 * Draws a frame the way the viewer's dwv does (with the range of all frames, as the viewer sets
 * it), with the window it opens on; answers the grey levels used.
 */
export function dwvGreyLevels(bytes: Uint8Array, frame: number, wholeRange = true): number {
  const d = dwv as unknown as {
    DicomParser: new () => { parse(buffer: ArrayBuffer): void; getDicomElements(): unknown };
    createImage(elements: unknown): { getGeometry(): { getSize(): { get(i: number): number } } };
    createView(elements: unknown, image: unknown): DwvView;
    Index: new (values: number[]) => unknown;
  };
  const parser = new d.DicomParser();
  parser.parse(bytes.slice().buffer);
  const elements = parser.getDicomElements();
  const image = d.createImage(elements);
  if (wholeRange) widenToAllFrames(image as unknown as Parameters<typeof widenToAllFrames>[0]);
  const view = d.createView(elements, image);
  const size = image.getGeometry().getSize();
  const data = { data: new Uint8ClampedArray(size.get(0) * size.get(1) * 4), width: size.get(0), height: size.get(1) };
  view.generateImageData(data, new d.Index([0, 0, 0, frame]));
  const greys = new Set<number>();
  for (let i = 0; i < data.data.length; i += 4) greys.add(data.data[i]!);
  return greys.size;
}

