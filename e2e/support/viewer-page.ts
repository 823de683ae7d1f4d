import { readFileSync } from 'node:fs';
import path from 'node:path';
import { expect, type CDPSession, type Locator, type Page } from '@playwright/test';
import { readDicomMetadata } from '@/lib/dicom';
import { makeSeries, replaceAscii, variantUid } from '@/lib/testing/dicom-series';

export { variantUid };

/** What the viewer's image canvas holds, summarised so that two states can be compared. */
export interface CanvasStats {
  width: number;
  height: number;
  /** Mean grey (0–255) over the whole canvas. */
  mean: number;
  /** Number of distinct grey levels (a blank canvas has one). */
  levels: number;
  /** Cheap fingerprint of the pixels: differs when the image does. */
  hash: number;
}

export class ViewerPage {
  constructor(readonly page: Page) {}

  async goto(studyId: string, query = '') {
    await this.page.goto(`/studies/${studyId}/view${query ? `?${query}` : ''}`);
  }

  viewer() {
    return this.page.getByTestId('viewer');
  }

  /** The dwv layer group; its first canvas is the image, a draw layer may sit on top. */
  canvasHost() {
    return this.page.getByTestId('viewer-canvas');
  }

  imageCanvas(): Locator {
    return this.canvasHost().locator('.viewLayer canvas').first();
  }

  sliceReadout() {
    return this.page.getByTestId('slice-readout');
  }

  windowReadout() {
    return this.page.getByTestId('wl-readout');
  }

  measurements() {
    return this.page.getByTestId('measurement');
  }

  tool(name: string | RegExp) {
    return this.page.getByRole('group', { name: 'Mouse tool' }).getByRole('button', { name });
  }

  /** Waits until the series is loaded and drawn (or fails with the viewer's own message). */
  async waitForImage(timeout = 30_000) {
    await expect(this.viewer()).toHaveAttribute('data-state', /ready|error/, { timeout });
    const error = this.page.getByTestId('load-error');
    if (await error.isVisible()) throw new Error(`viewer error: ${await error.textContent()}`);
    await expect.poll(async () => (await this.canvasStats()).levels, { timeout, message: 'canvas is drawn' }).toBeGreaterThan(1);
  }

  async sliceIndex(): Promise<number> {
    return Number(await this.sliceReadout().getAttribute('data-index'));
  }

  async sliceCount(): Promise<number> {
    return Number(await this.sliceReadout().getAttribute('data-count'));
  }

  async window(): Promise<{ center: number; width: number }> {
    const readout = this.windowReadout();
    return { center: Number(await readout.getAttribute('data-center')), width: Number(await readout.getAttribute('data-width')) };
  }

  /**
   * Reads the image canvas back (getImageData) and summarises the image on it: pixels dwv left
   * transparent (around the image) are not counted, so a blank image has one level.
   */
  async canvasStats(timeout = 5_000): Promise<CanvasStats> {
    return this.imageCanvas().evaluate((canvas: HTMLCanvasElement) => {
      const context = canvas.getContext('2d');
      if (!context || canvas.width === 0 || canvas.height === 0) return { width: 0, height: 0, mean: 0, levels: 0, hash: 0 };
      const { data } = context.getImageData(0, 0, canvas.width, canvas.height);
      const seen = new Set<number>();
      let sum = 0;
      let hash = 0;
      let pixels = 0;
      for (let i = 0; i < data.length; i += 4) {
        if (data[i + 3] === 0) continue;
        const grey = Math.round((data[i]! + data[i + 1]! + data[i + 2]!) / 3);
        pixels++;
        sum += grey;
        seen.add((data[i]! << 16) | (data[i + 1]! << 8) | data[i + 2]!);
        hash = (Math.imul(hash, 31) + grey + i) | 0;
      }
      return { width: canvas.width, height: canvas.height, mean: pixels ? sum / pixels : 0, levels: seen.size, hash };
    }, undefined, { timeout });
  }

  /** A left-button drag on the image, in fractions of the canvas size. */
  async drag(from: { x: number; y: number }, to: { x: number; y: number }, steps = 12) {
    const box = await this.canvasHost().boundingBox();
    if (!box) throw new Error('viewer canvas is not visible');
    await this.page.mouse.move(box.x + box.width * from.x, box.y + box.height * from.y);
    await this.page.mouse.down();
    await this.page.mouse.move(box.x + box.width * to.x, box.y + box.height * to.y, { steps });
    await this.page.mouse.up();
  }

  timeReadout() {
    return this.page.getByTestId('time-readout');
  }

  /**
   * A two-finger pinch about the centre of the image, through Chromium's own touch input (the
   * page must come from a context with hasTouch): the fingers start `from` pixels apart and end
   * `to` pixels apart, horizontally.
   */
  async pinch(cdp: CDPSession, from: number, to: number, steps = 10) {
    const box = await this.canvasHost().boundingBox();
    if (!box) throw new Error('viewer canvas is not visible');
    const cx = box.x + box.width / 2;
    const cy = box.y + box.height / 2;
    const points = (gap: number) => [
      { x: cx - gap / 2, y: cy, id: 0 },
      { x: cx + gap / 2, y: cy, id: 1 },
    ];
    await cdp.send('Input.dispatchTouchEvent', { type: 'touchStart', touchPoints: points(from) });
    for (let i = 1; i <= steps; i++) await cdp.send('Input.dispatchTouchEvent', { type: 'touchMove', touchPoints: points(from + ((to - from) * i) / steps) });
    await cdp.send('Input.dispatchTouchEvent', { type: 'touchEnd', touchPoints: [] });
  }

  async wheel(deltaY: number, at = { x: 0.5, y: 0.5 }) {
    const box = await this.canvasHost().boundingBox();
    if (!box) throw new Error('viewer canvas is not visible');
    await this.page.mouse.move(box.x + box.width * at.x, box.y + box.height * at.y);
    await this.page.mouse.wheel(0, deltaY);
  }
}

const FIXTURES = path.resolve('lib/dicom/__fixtures__');

function manifestUids(id: string) {
  const manifest = JSON.parse(readFileSync(path.join(FIXTURES, 'manifest.json'), 'utf8')) as { files: { id: string; reference: { tags: Record<string, string> } }[] };
  const tags = manifest.files.find((f) => f.id === id)!.reference.tags;
  return { study: tags.StudyInstanceUID!, series: tags.SeriesInstanceUID!, sop: tags.SOPInstanceUID! };
}

/** Where the value of a top-level, explicit VR little endian OW Pixel Data element of `length` bytes starts. */
function pixelDataOffset(file: Buffer, length: number): number {
  const header = Buffer.from([0xe0, 0x7f, 0x10, 0x00, 0x4f, 0x57, 0, 0]);
  for (let at = file.indexOf(header); at >= 0; at = file.indexOf(header, at + 1)) {
    if (file.readUInt32LE(at + 8) === length) return at + 12;
  }
  throw new Error('pixel data not found');
}

/** Overwrites a top-level explicit VR string element in place; the new value must fit its length. */
function setStringElement(file: Buffer, group: number, element: number, vr: string, value: string) {
  const header = Buffer.alloc(6);
  header.writeUInt16LE(group, 0);
  header.writeUInt16LE(element, 2);
  header.write(vr, 4, 'latin1');
  const at = file.indexOf(header);
  if (at < 0) throw new Error(`element (${group.toString(16)},${element.toString(16)}) not found`);
  const length = file.readUInt16LE(at + 6);
  if (value.length > length) throw new Error(`"${value}" does not fit in ${length} bytes`);
  file.write(value.padEnd(length, ' '), at + 8, 'latin1');
}

/**
 * A CT volume made from the real ct_small_explicit_le.dcm (128×128, 0.66 mm pixels): fresh UIDs,
 * slices 5 mm apart (Image Position Patient rewritten in place), instance numbers 1…n, and a bright square stamped at a
 * different place in each slice, so that scrolling visibly changes the image.
 */
export function makeCtVolume(count: number): { files: Buffer[]; sliceZ: number[]; seriesUid: string; sopUids: string[] } {
  if (count > 14) throw new Error('at most 14 slices keep the position string the same length');
  const base = readFileSync(path.join(FIXTURES, 'ct_small_explicit_le.dcm'));
  const made = makeSeries(base, manifestUids('ct_small_explicit_le'), count);
  const sliceZ: number[] = [];
  const files = made.files.map((file, k) => {
    const z = -75.699997 + 5 * k;
    sliceZ.push(z);
    // "\-75.699997" → "\-70.699997", "\-65.699997"…: same length, so no other offset moves.
    const out = replaceAscii(file, '\\-75.699997', `\\${z.toFixed(6)}`);
    // dwv refuses two images with one Instance Number in a series.
    setStringElement(out, 0x0020, 0x0013, 'IS', String(k + 1));
    const rows = 128;
    const pixelStart = pixelDataOffset(out, rows * rows * 2);
    const x0 = 10 + k * 7;
    for (let y = 10; y < 26; y++) for (let x = x0; x < x0 + 16; x++) out.writeInt16LE(3000, pixelStart + (y * rows + x) * 2);
    return out;
  });
  return { files, sliceZ, seriesUid: made.seriesUid, sopUids: made.sopUids };
}

/**
 * Another series of the same study from a slice of makeCtVolume: new Series and SOP Instance
 * UIDs, Series Number 2, and the picture turned upside down, so that it looks different.
 */
export function makeSecondSeries(slice: Buffer, volume: { seriesUid: string; sopUids: string[] }, sopIndex: number): Buffer {
  const out = replaceAscii(replaceAscii(slice, volume.seriesUid, variantUid(volume.seriesUid)), volume.sopUids[sopIndex]!, variantUid(volume.sopUids[sopIndex]!));
  setStringElement(out, 0x0020, 0x0011, 'IS', '2');
  const rows = 128;
  const start = pixelDataOffset(out, rows * rows * 2);
  const pixels = Buffer.from(out.subarray(start, start + rows * rows * 2));
  for (let y = 0; y < rows; y++) pixels.copy(out, start + y * rows * 2, (rows - 1 - y) * rows * 2, (rows - y) * rows * 2);
  return out;
}

/**
 * Copies of a DICOM file with fresh UIDs: one new study and series for all of them, a new SOP
 * Instance UID each. Longer UIDs are replaced first, since a study UID can be the start of the
 * series UID (xa_* fixtures).
 */
export function freshCopies(file: Buffer, count: number): Buffer[] {
  const meta = readDicomMetadata(new Uint8Array(file));
  const { studyInstanceUid: study, seriesInstanceUid: series, sopInstanceUid: sop } = meta;
  if (!study || !series || !sop) throw new Error('the file lacks a study, series or SOP instance UID');
  // A deflated dataset keeps its UIDs compressed: only the file meta group's would change.
  if (![study, series, sop].every((uid) => file.includes(uid, 0, 'latin1'))) throw new Error('the UIDs are not stored as plain text');
  const shared = new Map([study, series].map((uid) => [uid, variantUid(uid)]));
  return Array.from({ length: count }, () => {
    const pairs = [...new Map([...shared, [sop, variantUid(sop)]])].sort((a, b) => b[0].length - a[0].length);
    // A shorter UID may only have occurred inside a longer one, replaced already.
    return pairs.reduce((bytes, [from, to]) => (bytes.includes(from, 0, 'latin1') ? replaceAscii(bytes, from, to) : bytes), file);
  });
}
