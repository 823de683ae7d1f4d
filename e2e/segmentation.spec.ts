import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import sharp from 'sharp';
import { writeNifti1 } from '@/lib/nifti/write';
import { phantomSeries, phantomValues, phantomVolumes, type CtPhantom } from '@/lib/testing/ct-phantom';
import { signInAsAdmin, UploadPage } from './support/pages';
import { ViewerPage } from './support/viewer-page';

test.use({ viewport: { width: 1400, height: 900 } });

/** Small enough to upload quickly; the sphere sits off-centre in both directions so that a flip would show. */
const PHANTOM: CtPhantom = {
  size: 96,
  slices: 24,
  pixelMm: 1,
  sliceMm: 1.5,
  bodyRadiusMm: 40,
  sphereRadiusMm: 14,
  sphereOffsetMm: 14,
  sphereOffsetYMm: -10,
  boneRadiusMm: 10,
  boneOffsetMm: -24,
};

type Rgb = [number, number, number];
interface StructureRow {
  name: string;
  color: Rgb;
  volumeMl: number;
}

async function shot(page: Page, name: string) {
  await page.screenshot({ path: test.info().outputPath(`${name}.png`) });
}

/**
 * Compares the overlay canvas with dwv's image canvas pixel by pixel: for each structure, how many
 * overlay pixels carry its colour and the mean grey of the image under them. Aligned, the lung
 * pixels lie on black (air), the body's on mid grey (40 HU in a 40/400 window), the bone's on white.
 */
async function alignment(page: Page, structures: StructureRow[]) {
  return page.evaluate((rows) => {
    const overlay = document.querySelector<HTMLCanvasElement>('[data-testid="segmentation-overlay"]')!;
    const image = document.querySelector<HTMLCanvasElement>('[data-testid="viewer-canvas"] .viewLayer canvas')!;
    const o = overlay.getContext('2d')!.getImageData(0, 0, overlay.width, overlay.height).data;
    const i = image.getContext('2d')!.getImageData(0, 0, image.width, image.height).data;
    const result: Record<string, { pixels: number; grey: number }> = Object.fromEntries(rows.map((r) => [r.name, { pixels: 0, grey: 0 }]));
    for (let p = 0; p < o.length; p += 4) {
      if (o[p + 3]! === 0) continue;
      let best = rows[0]!;
      let distance = Infinity;
      for (const row of rows) {
        const d = Math.abs(row.color[0] - o[p]!) + Math.abs(row.color[1] - o[p + 1]!) + Math.abs(row.color[2] - o[p + 2]!);
        if (d < distance) [best, distance] = [row, d];
      }
      result[best.name]!.pixels++;
      result[best.name]!.grey += (i[p]! + i[p + 1]! + i[p + 2]!) / 3;
    }
    for (const r of Object.values(result)) r.grey = r.pixels ? r.grey / r.pixels : 0;
    return { sameSize: overlay.width === image.width && overlay.height === image.height, structures: result };
  }, structures);
}

function expectAligned(found: Awaited<ReturnType<typeof alignment>>) {
  expect(found.sameSize).toBe(true);
  const { lungs, body, bone } = found.structures;
  expect(lungs!.pixels).toBeGreaterThan(200);
  expect(lungs!.grey).toBeLessThan(40);
  expect(body!.pixels).toBeGreaterThan(lungs!.pixels);
  expect(body!.grey).toBeGreaterThan(90);
  expect(body!.grey).toBeLessThan(200);
  expect(bone!.grey).toBeGreaterThan(200);
}

/** A screenshot of the image area, decoded: what the user sees, both canvases composited. */
async function stagePixels(page: Page): Promise<Buffer> {
  const png = await page.locator('.viewer-stage').screenshot();
  return sharp(png).removeAlpha().raw().toBuffer();
}

function differingPixels(a: Buffer, b: Buffer): number {
  let n = 0;
  for (let p = 0; p < Math.min(a.length, b.length); p += 3) if (Math.abs(a[p]! - b[p]!) + Math.abs(a[p + 1]! - b[p + 1]!) + Math.abs(a[p + 2]! - b[p + 2]!) > 30) n++;
  return n;
}

async function upload(page: Page, files: string[], modality?: string): Promise<string> {
  const uploads = new UploadPage(page);
  await uploads.goto();
  if (modality) {
    await page.getByText('Patient details for NIfTI volumes').click();
    await page.getByLabel('Modality').fill(modality);
    await page.getByLabel('Patient name').fill('Phantom^Nifti');
    await page.getByLabel('Patient ID').fill(`SEG-NII-${Date.now()}`);
  }
  await uploads.chooseFiles(files);
  await expect(uploads.overall()).toContainText(`${files.length} of ${files.length} done`, { timeout: 60_000 });
  const href = await uploads.row(path.basename(files[0]!)).getByRole('link', { name: 'Open study' }).getAttribute('href');
  return href!.split('/').pop()!;
}

async function runBuiltin(page: Page, studyId: string): Promise<StructureRow[]> {
  await page.getByRole('button', { name: 'Segment', exact: true }).click();
  const panel = page.getByTestId('segmentation-panel');
  await expect(panel).toBeVisible();
  await expect(panel.getByLabel('Segmentation engine')).toHaveValue('builtin');
  await panel.getByRole('button', { name: 'Run segmentation' }).click();
  await expect(panel.getByTestId('segmentation-status')).toHaveAttribute('data-status', 'succeeded', { timeout: 90_000 });
  const list = await page.request.get(`/api/studies/${studyId}/segmentations`);
  expect(list.ok()).toBe(true);
  return ((await list.json()) as { segmentations: { structures: StructureRow[] }[] }).segmentations[0]!.structures;
}

test.describe('segmentation in the viewer', () => {
  test.beforeEach(async ({ page }) => {
    await signInAsAdmin(page);
  });

  test('run the built-in engine on a CT series: overlay aligned through zoom, toggle, opacity, legend with volumes', async ({ page }) => {
    const dir = test.info().outputPath('phantom');
    mkdirSync(dir, { recursive: true });
    const files = phantomSeries(PHANTOM, { patientId: `SEG-E2E-${Date.now()}` }).files.map((data, i) => {
      const file = path.join(dir, `PH${String(i + 1).padStart(3, '0')}.dcm`);
      writeFileSync(file, data);
      return file;
    });
    const studyId = await upload(page, files);
    const viewer = new ViewerPage(page);
    await viewer.goto(studyId);
    await viewer.waitForImage();
    // Through the middle of the sphere.
    const middle = PHANTOM.slices / 2;
    await page.getByTestId('slice-slider').fill(String(middle + 1));
    await expect(viewer.sliceReadout()).toHaveText(`${middle + 1} / ${PHANTOM.slices}`);
    const without = await stagePixels(page);

    const structures = await runBuiltin(page, studyId);
    const legend = page.getByTestId('segmentation-legend');
    await expect(legend.getByTestId('segmentation-structure')).toHaveCount(4);
    const want = phantomVolumes(PHANTOM);
    for (const name of ['body', 'lungs', 'bone', 'air'] as const) {
      const row = legend.locator(`[data-name="${name}"]`);
      await expect(row).toContainText(/\d mL|\d L/);
      const volume = Number(await row.getAttribute('data-volume-ml'));
      expect(Math.abs(volume - want[name]) / want[name], name).toBeLessThan(0.04);
    }
    // The legend shows e.g. "11.5 mL" for the sphere of 4/3·π·14³ mm³ = 11.49 mL.
    await expect(legend.locator('[data-name="lungs"] [data-testid="structure-volume"]')).toHaveText(/^11\.\d mL$/);

    const overlay = page.getByTestId('segmentation-overlay');
    await expect(overlay).toHaveAttribute('data-url', /overlay\?slice=12&sop=/);
    await shot(page, '01-overlay');
    expectAligned(await alignment(page, structures));
    const withOverlay = await stagePixels(page);
    expect(differingPixels(without, withOverlay)).toBeGreaterThan(2000);

    // Toggle: off shows the plain image again, on brings the overlay back.
    await page.getByLabel('Show overlay').uncheck();
    await expect(overlay).toBeHidden();
    await expect.poll(async () => differingPixels(without, await stagePixels(page))).toBeLessThan(50);
    await page.getByLabel('Show overlay').check();
    await expect(overlay).toBeVisible();
    await expect.poll(async () => differingPixels(withOverlay, await stagePixels(page))).toBeLessThan(50);

    // Opacity: fully opaque hides the image under the overlay.
    await page.getByLabel('Overlay opacity').fill('100');
    await expect.poll(async () => differingPixels(withOverlay, await stagePixels(page))).toBeGreaterThan(2000);
    await page.getByLabel('Overlay opacity').fill('50');

    // One structure off: no lung colour left.
    await legend.getByLabel('Show lungs').uncheck();
    await expect(overlay).toHaveAttribute('data-url', /labels=1%2C3%2C4/);
    await expect.poll(async () => (await alignment(page, structures)).structures.lungs!.pixels).toBe(0);
    await legend.getByLabel('Show lungs').check();

    // Zoom in twice and pan: the overlay follows the image. (Keys go to the viewer, not the slider.)
    const before = (await alignment(page, structures)).structures.lungs!.pixels;
    await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
    await page.keyboard.press('+');
    await page.keyboard.press('+');
    await expect.poll(async () => (await alignment(page, structures)).structures.lungs!.pixels).toBeGreaterThan(before * 1.5);
    await viewer.tool('Zoom/pan').click();
    await viewer.drag({ x: 0.5, y: 0.5 }, { x: 0.4, y: 0.45 });
    expectAligned(await alignment(page, structures));
    await shot(page, '02-zoomed');

    // Another slice: the overlay is that slice's (the sphere is smaller near its pole).
    const lungsHere = (await alignment(page, structures)).structures.lungs!.pixels;
    await page.getByTestId('slice-slider').fill(String(middle + 8));
    await expect(overlay).toHaveAttribute('data-url', new RegExp(`slice=${middle + 7}&`));
    await expect.poll(async () => (await alignment(page, structures)).structures.lungs!.pixels).toBeLessThan(lungsHere * 0.8);
    expectAligned(await alignment(page, structures));

    // The result is there for the next visit.
    await page.reload();
    await viewer.waitForImage();
    await page.getByRole('button', { name: 'Segment', exact: true }).click();
    await expect(page.getByTestId('segmentation-status')).toHaveAttribute('data-status', 'succeeded');
    await expect(page.getByTestId('segmentation-structure')).toHaveCount(4);
  });

  test('a NIfTI CT volume: the overlay follows the display orientation the viewer shows it in', async ({ page }) => {
    const dir = test.info().outputPath('nifti');
    mkdirSync(dir, { recursive: true });
    const file = path.join(dir, 'phantom-ct.nii');
    // i runs towards the patient's left (RAS x decreasing) and j towards anterior: the viewer
    // flips the rows for display, and the overlay has to flip with them.
    const affine: [number, number, number, number][] = [
      [-PHANTOM.pixelMm, 0, 0, 40],
      [0, PHANTOM.pixelMm, 0, -40],
      [0, 0, PHANTOM.sliceMm, 0],
      [0, 0, 0, 1],
    ];
    writeFileSync(file, writeNifti1({ dims: [PHANTOM.size, PHANTOM.size, PHANTOM.slices], affine: affine as never, data: phantomValues(PHANTOM) }));
    const studyId = await upload(page, [file], 'CT');
    const viewer = new ViewerPage(page);
    await viewer.goto(studyId);
    await viewer.waitForImage();
    await page.getByTestId('slice-slider').fill(String(PHANTOM.slices / 2 + 1));
    const structures = await runBuiltin(page, studyId);
    await expect(page.getByTestId('segmentation-overlay')).toHaveAttribute('data-url', /overlay\?slice=12/);
    await expect.poll(async () => (await alignment(page, structures)).structures.lungs!.pixels).toBeGreaterThan(200);
    expectAligned(await alignment(page, structures));
    await shot(page, '03-nifti-overlay');
  });
});
