import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import { signInAsAdmin, SignInPage, UploadPage, UsersAdminPage } from './support/pages';
import { WINDOW_PRESETS } from '@/lib/imaging/presets';
import { freshCopies, makeCtVolume, makeSecondSeries, ViewerPage } from './support/viewer-page';

const SLICES = 8;
/** ct_small_explicit_le.dcm: 128×128 pixels of 0.661468 mm. */
const PIXEL_MM = 0.661468;
const IMAGE_PIXELS = 128;

test.use({ viewport: { width: 1400, height: 900 } });

const DICOM_FIXTURES = path.resolve('lib/dicom/__fixtures__');
const NIFTI_FIXTURES = path.resolve('lib/nifti/__fixtures__');

async function shot(page: Page, name: string) {
  await page.screenshot({ path: test.info().outputPath(`${name}.png`) });
}

/** Uploads a fresh 8-slice CT volume and answers its study id. */
async function uploadCtVolume(page: Page): Promise<string> {
  const dir = test.info().outputPath('ct-volume');
  mkdirSync(dir, { recursive: true });
  const files = makeCtVolume(SLICES).files.map((data, i) => {
    const file = path.join(dir, `CT${String(i + 1).padStart(3, '0')}.dcm`);
    writeFileSync(file, data);
    return file;
  });
  const uploads = new UploadPage(page);
  await uploads.goto();
  // Shuffled: the viewer must order slices by position, not by upload order.
  await uploads.chooseFiles([files[3]!, files[0]!, files[7]!, files[5]!, files[1]!, files[6]!, files[2]!, files[4]!]);
  await expect(uploads.overall()).toContainText(`${SLICES} of ${SLICES} done`, { timeout: 60_000 });
  const href = await uploads.row('CT001.dcm').getByRole('link', { name: 'Open study' }).getAttribute('href');
  return href!.split('/').pop()!;
}

test.describe('viewer', () => {
  let studyId: string;
  /** Uncaught exceptions in the page: dwv failing inside an event handler leaves a load hanging. */
  let pageErrors: string[];

  test.beforeEach(async ({ page }) => {
    pageErrors = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await signInAsAdmin(page);
  });

  test.afterEach(() => {
    expect(pageErrors, 'uncaught exceptions in the page').toEqual([]);
  });

  test('open a CT series from the worklist, change window/level, invert, scroll, play and measure', async ({ page }) => {
    // A long walk through the viewer on a machine shared with other suites.
    test.setTimeout(180_000);
    studyId = await uploadCtVolume(page);
    const viewer = new ViewerPage(page);

    // Half of the files are held back until the progress bar has been read: it must be on screen,
    // part way, while the series loads.
    let release = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    let requested = 0;
    await page.route('**/api/instances/*/file', async (route) => {
      if (++requested > SLICES / 2) await held;
      await route.continue();
    });
    await page.goto('/');
    await page.locator(`a[href="/studies/${studyId}/view"]`).click();
    const progress = page.getByTestId('load-progress');
    const bar = progress.getByRole('progressbar', { name: 'Loading series' });
    await expect(bar).toBeVisible();
    await expect.poll(async () => Number(await bar.getAttribute('value'))).toBeGreaterThan(0);
    const partWay = Number(await bar.getAttribute('value'));
    expect(partWay).toBeLessThan(100);
    await expect(progress).toContainText(/Loading series… \d+%/);
    await expect(viewer.viewer()).toHaveAttribute('data-state', 'loading');
    await shot(page, '00-loading');
    release();
    await viewer.waitForImage();
    await expect(progress).toBeHidden();
    await page.unroute('**/api/instances/*/file');
    await expect(page.getByTestId('series-thumbnail')).toHaveCount(1);
    await expect(viewer.sliceReadout()).toHaveText(`1 / ${SLICES}`);
    await expect(page.getByTestId('position-readout')).toHaveText('-75.70 mm');
    await expect(page.getByTestId('corner-overlay')).toContainText('CompressedSamples, CT1');
    await shot(page, '01-loaded');
    const loaded = await viewer.canvasStats();
    expect(loaded.levels).toBeGreaterThan(20);

    // Window/level by dragging: left narrows the window, up raises the level.
    const before = await viewer.window();
    await viewer.drag({ x: 0.5, y: 0.6 }, { x: 0.35, y: 0.4 });
    const dragged = await viewer.window();
    expect(dragged.width).toBeLessThan(before.width);
    expect(dragged.center).not.toBe(before.center);
    await expect(viewer.windowReadout()).toHaveText(`W ${Math.round(dragged.width)} / L ${Math.round(dragged.center)}`);
    const afterDrag = await viewer.canvasStats();
    expect(afterDrag.hash).not.toBe(loaded.hash);
    await shot(page, '02-window-dragged');

    // Every CT preset of lib/imaging/presets sets its window, and the picture changes with it.
    const seenHashes = new Set([afterDrag.hash]);
    for (const name of ['brain', 'subdural', 'mediastinum', 'abdomen', 'liver', 'bone', 'lung'] as const) {
      const preset = WINDOW_PRESETS[name];
      await page.getByLabel('Window preset').selectOption(name);
      await expect(viewer.windowReadout(), name).toHaveText(`W ${preset.width} / L ${preset.center}`);
      await expect(page.getByLabel('Window preset')).toHaveValue(name);
      const hash = (await viewer.canvasStats()).hash;
      expect(seenHashes.has(hash), `${name} draws a picture of its own`).toBe(false);
      seenHashes.add(hash);
    }
    await expect(page.getByLabel('Window preset').locator('option', { hasText: 'CT brain 80/40' })).toHaveCount(1);
    const lung = await viewer.canvasStats();

    // Invert: the picture turns into its negative.
    await page.getByRole('button', { name: 'Invert' }).click();
    await expect(page.getByRole('button', { name: 'Invert' })).toHaveAttribute('aria-pressed', 'true');
    const inverted = await viewer.canvasStats();
    expect(Math.abs(inverted.mean - lung.mean)).toBeGreaterThan(30);
    await shot(page, '03-inverted');

    // Scroll: keyboard, wheel and slider; the stamped square moves from slice to slice.
    await page.keyboard.press('ArrowUp');
    await expect(viewer.sliceReadout()).toHaveText(`2 / ${SLICES}`);
    await expect(page.getByTestId('position-readout')).toHaveText('-70.70 mm');
    expect((await viewer.canvasStats()).hash).not.toBe(inverted.hash);
    await viewer.wheel(-120);
    await expect(viewer.sliceReadout()).toHaveText(`3 / ${SLICES}`);
    await page.getByTestId('slice-slider').fill('5');
    await expect(viewer.sliceReadout()).toHaveText(`5 / ${SLICES}`);
    await expect(page.getByTestId('position-readout')).toHaveText('-55.70 mm');
    await shot(page, '04-slice-5');

    // Cine at 20 fps goes round the series; pausing keeps the slice.
    await page.getByLabel('Frame rate').fill('20');
    await page.getByRole('button', { name: 'Play' }).click();
    // Sampled often, at a pace unrelated to the frame rate (a steady 1 s poll would see the same
    // few frames over and over).
    const seen = new Set<number>();
    await expect
      .poll(
        async () => {
          seen.add(await viewer.sliceIndex());
          return seen.size;
        },
        { intervals: [37] },
      )
      .toBeGreaterThan(3);
    await page.getByRole('button', { name: 'Pause' }).click();
    await page.getByTestId('slice-slider').fill('5');
    await expect(viewer.sliceReadout()).toHaveText(`5 / ${SLICES}`);

    // Ruler: a horizontal line across half the canvas. The image (square) fits the smaller side.
    await viewer.tool('Ruler').click();
    const box = (await viewer.canvasHost().boundingBox())!;
    await viewer.drag({ x: 0.25, y: 0.55 }, { x: 0.75, y: 0.55 });
    await expect(viewer.measurements()).toHaveCount(1);
    const screenPixelMm = (IMAGE_PIXELS * PIXEL_MM) / Math.min(box.width, box.height);
    const expectedMm = box.width * 0.5 * screenPixelMm;
    const ruler = viewer.measurements().first();
    await expect(ruler).toContainText('Distance');
    const text = await ruler.getByTestId('measurement-value').textContent();
    expect(text).toMatch(/^\d+\.\d\d mm$/);
    expect(Number.parseFloat(text!)).toBeCloseTo(expectedMm, 0);

    // Rectangle and ellipse ROIs away from the ruler: areas in mm² from the pixel spacing, and the
    // HU statistics inside.
    const mm2 = async (index: number) => {
      const value = await viewer.measurements().nth(index).getByTestId('measurement-value').textContent();
      expect(value).toMatch(/^\d+\.\d\d mm²$/);
      return Number.parseFloat(value!);
    };
    await viewer.tool('Rectangle').click();
    await viewer.drag({ x: 0.3, y: 0.15 }, { x: 0.45, y: 0.35 });
    await expect(viewer.measurements()).toHaveCount(2);
    await expect(viewer.measurements().nth(1)).toContainText('Rectangle');
    const rectangleMm2 = box.width * 0.15 * screenPixelMm * (box.height * 0.2 * screenPixelMm);
    expect(Math.abs((await mm2(1)) / rectangleMm2 - 1)).toBeLessThan(0.05);
    await expect(viewer.measurements().nth(1).getByTestId('measurement-stats')).toContainText(/^mean -?[\d.]+ ± [\d.]+ HU/);
    await viewer.tool('Ellipse').click();
    // dwv's ellipse: centre where the drag starts, semi-axes to where it ends.
    await viewer.drag({ x: 0.7, y: 0.25 }, { x: 0.78, y: 0.33 });
    await expect(viewer.measurements()).toHaveCount(3);
    await expect(viewer.measurements().nth(2)).toContainText('Ellipse');
    const ellipseMm2 = Math.PI * (box.width * 0.08 * screenPixelMm) * (box.height * 0.08 * screenPixelMm);
    expect(Math.abs((await mm2(2)) / ellipseMm2 - 1)).toBeLessThan(0.05);
    await expect(viewer.measurements().nth(2).getByTestId('measurement-stats')).toContainText(/HU/);
    await shot(page, '05-measured');

    await page.getByRole('button', { name: 'Clear measurements' }).click();
    await expect(viewer.measurements()).toHaveCount(0);
    await viewer.tool('Ruler').click();
    await viewer.drag({ x: 0.3, y: 0.7 }, { x: 0.5, y: 0.7 });
    await expect(viewer.measurements()).toHaveCount(1);

    // The URL holds the view.
    await expect(page).toHaveURL(/[?&]slice=5(&|$)/);
    await expect(page).toHaveURL(/[?&]wc=-600&ww=1500(&|$)/);
    await expect(page).toHaveURL(/[?&]invert=1(&|$)/);
    await expect(page).toHaveURL(/[?&]series=[0-9a-f-]{36}/);
  });

  test('a shared link reopens the same view for another signed-in user', async ({ page, browser }) => {
    test.skip(!studyId, 'needs the study of the previous test');
    const viewer = new ViewerPage(page);
    const seriesId = await (async () => {
      await viewer.goto(studyId);
      await viewer.waitForImage();
      return page.getByTestId('series-thumbnail').first().getAttribute('data-series-id');
    })();
    const query = `series=${seriesId}&slice=6&wc=400&ww=1800&invert=1`;
    await viewer.goto(studyId, query);
    await viewer.waitForImage();
    await expect(viewer.sliceReadout()).toHaveText(`6 / ${SLICES}`);
    await expect(viewer.windowReadout()).toHaveText('W 1800 / L 400');
    await expect(page.getByLabel('Window preset')).toHaveValue('bone');
    await expect(page.getByRole('button', { name: 'Invert' })).toHaveAttribute('aria-pressed', 'true');
    const mine = await viewer.canvasStats();

    const colleague = { name: 'Vera Viewer', email: `vera.viewer.${Date.now()}@hospital.test`, password: 'viewer passphrase 1' };
    const users = new UsersAdminPage(page);
    await users.goto();
    await users.addUser(colleague, 'viewer');

    const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    const other = await context.newPage();
    // Signed out, the link goes through the sign-in page and comes back to the same view.
    await other.goto(`/studies/${studyId}/view?${query}`);
    await expect(other).toHaveURL(/\/sign-in/);
    await new SignInPage(other).signIn(colleague.email, colleague.password);
    await expect(other).toHaveURL(new RegExp(`/studies/${studyId}/view\\?`));
    const theirs = new ViewerPage(other);
    await theirs.waitForImage();
    await expect(theirs.sliceReadout()).toHaveText(`6 / ${SLICES}`);
    await expect(theirs.windowReadout()).toHaveText('W 1800 / L 400');
    await expect(other.getByRole('button', { name: 'Invert' })).toHaveAttribute('aria-pressed', 'true');
    await expect(other.getByTestId('current-user')).toContainText(colleague.email);
    const same = await theirs.canvasStats();
    expect(same.hash).toBe(mine.hash);
    await other.screenshot({ path: test.info().outputPath('shared-view.png') });
    await context.close();
  });

  test('a series of multi-frame files (cine runs) is shown one file at a time, frames in cine', async ({ page }) => {
    const dir = test.info().outputPath('xa-runs');
    mkdirSync(dir, { recursive: true });
    const runs = freshCopies(readFileSync(path.join(DICOM_FIXTURES, 'xa_jpeg_lossless_sv1_multiframe.dcm')), 2).map((data, i) => {
      const file = path.join(dir, `XA-run-${i + 1}.dcm`);
      writeFileSync(file, data);
      return file;
    });
    const uploads = new UploadPage(page);
    await uploads.goto();
    await uploads.chooseFiles(runs);
    await expect(uploads.overall()).toContainText('2 of 2 done');
    await uploads.row('XA-run-1.dcm').getByRole('link', { name: 'Open study' }).click();
    await page.getByTestId('open-viewer').click();

    const viewer = new ViewerPage(page);
    await viewer.waitForImage();
    await expect(page.getByTestId('instance-readout')).toHaveText('File 1 / 2');
    await expect(viewer.sliceReadout()).toHaveText('1 / 4');
    await expect(page.getByTestId('corner-overlay')).toContainText('Frame 1/4');
    await page.getByRole('button', { name: 'Next file' }).click();
    await expect(page.getByTestId('instance-readout')).toHaveText('File 2 / 2');
    await viewer.waitForImage();
    await expect(page).toHaveURL(/[?&]instance=2(&|$)/);

    await page.keyboard.press(' ');
    const seen = new Set<number>();
    await expect
      .poll(
        async () => {
          seen.add(await viewer.sliceIndex());
          return seen.size;
        },
        { intervals: [37] },
      )
      .toBe(4);
    await page.keyboard.press(' ');
    await expect(page.getByRole('button', { name: 'Play' })).toBeVisible();
    await shot(page, 'xa-run-2');
  });

  test('series thumbnails: each series of the study has one, and choosing it shows that series', async ({ page }) => {
    const dir = test.info().outputPath('two-series');
    mkdirSync(dir, { recursive: true });
    const volume = makeCtVolume(3);
    const files = [...volume.files, makeSecondSeries(volume.files[0]!, volume, 0)].map((data, i) => {
      const file = path.join(dir, i < 3 ? `AX${i + 1}.dcm` : 'SCOUT.dcm');
      writeFileSync(file, data);
      return file;
    });
    const uploads = new UploadPage(page);
    await uploads.goto();
    await uploads.chooseFiles(files);
    await expect(uploads.overall()).toContainText('4 of 4 done', { timeout: 60_000 });
    await uploads.row('SCOUT.dcm').getByRole('link', { name: 'Open study' }).click();
    await page.getByTestId('open-viewer').click();

    const viewer = new ViewerPage(page);
    await viewer.waitForImage();
    const thumbnails = page.getByTestId('series-thumbnail');
    await expect(thumbnails).toHaveCount(2);
    // Thumbnails are the server's renderings of each series.
    for (const img of await thumbnails.locator('img').all()) await expect.poll(() => img.evaluate((el: HTMLImageElement) => el.complete && el.naturalWidth)).toBeGreaterThan(0);
    await expect(viewer.sliceReadout()).toHaveText('1 / 3');
    const first = await viewer.canvasStats();
    const firstId = await thumbnails.nth(0).getAttribute('data-series-id');
    const secondId = await thumbnails.nth(1).getAttribute('data-series-id');
    await thumbnails.nth(1).click();
    await viewer.waitForImage();
    await expect(viewer.sliceReadout()).toHaveText('1 / 1');
    await expect(page).toHaveURL(new RegExp(`[?&]series=${secondId}`));
    expect((await viewer.canvasStats()).hash).not.toBe(first.hash);
    await shot(page, 'second-series');
    await thumbnails.nth(0).click();
    await viewer.waitForImage();
    await expect(viewer.sliceReadout()).toHaveText('1 / 3');
    await expect(page).toHaveURL(new RegExp(`[?&]series=${firstId}`));
  });

  test('NIfTI: a 3D volume opens as its slices, a 4D volume one time point at a time', async ({ page }) => {
    const dir = test.info().outputPath('nifti');
    mkdirSync(dir, { recursive: true });
    const names = ['nii_anatomical_int16_be.nii', 'nii_functional_int16_4d.nii'];
    for (const name of names) copyFileSync(path.join(NIFTI_FIXTURES, name), path.join(dir, name));
    const uploads = new UploadPage(page);
    await uploads.goto();
    await uploads.chooseFiles(names.map((name) => path.join(dir, name)));
    await expect(uploads.overall()).toContainText('2 of 2 done', { timeout: 60_000 });
    const studyOf = async (name: string) => (await uploads.row(name).getByRole('link', { name: 'Open study' }).getAttribute('href'))!.split('/').pop()!;
    const anatomical = await studyOf(names[0]!);
    const functional = await studyOf(names[1]!);
    const viewer = new ViewerPage(page);

    await viewer.goto(anatomical);
    await viewer.waitForImage();
    expect(await viewer.sliceCount()).toBeGreaterThan(10);
    await expect(viewer.timeReadout()).toHaveCount(0);
    await page.keyboard.press('End');
    await expect(viewer.sliceReadout()).toHaveText(/^(\d+) \/ \1$/);

    await viewer.goto(functional);
    await viewer.waitForImage();
    await expect(viewer.timeReadout()).toHaveText('Time 1 / 20');
    const slices = await viewer.sliceCount();
    expect(slices).toBeGreaterThan(1);
    await page.getByTestId('slice-slider').fill('2');
    await expect(viewer.sliceReadout()).toHaveText(`2 / ${slices}`);
    const first = await viewer.canvasStats();
    const seen = new Set([first.hash]);
    await expect(page.getByRole('button', { name: 'Previous time point' })).toBeDisabled();
    await page.getByRole('button', { name: 'Next time point' }).click();
    await expect(viewer.timeReadout()).toHaveText('Time 2 / 20');
    await viewer.waitForImage();
    // Another volume, the same slice.
    await expect(viewer.sliceReadout()).toHaveText(`2 / ${slices}`);
    await expect.poll(async () => seen.has((await viewer.canvasStats()).hash)).toBe(false);
    seen.add((await viewer.canvasStats()).hash);
    await page.keyboard.press('.');
    await expect(viewer.timeReadout()).toHaveText('Time 3 / 20');
    await viewer.waitForImage();
    await page.getByTestId('time-slider').fill('20');
    await expect(viewer.timeReadout()).toHaveText('Time 20 / 20');
    await viewer.waitForImage();
    await expect(viewer.sliceReadout()).toHaveText(`2 / ${slices}`);
    await expect(page.getByRole('button', { name: 'Next time point' })).toBeDisabled();
    await expect(page).toHaveURL(/[?&]t=20&slice=2(&|$)/);
    await shot(page, 'nifti-4d-t20');
    // The link reopens that time point, slice and window (as rounded in the URL), every time.
    const link = page.url();
    const windowText = await viewer.windowReadout().textContent();
    await page.goto(link);
    await viewer.waitForImage();
    await expect(viewer.timeReadout()).toHaveText('Time 20 / 20');
    await expect(viewer.sliceReadout()).toHaveText(`2 / ${slices}`);
    await expect(viewer.windowReadout()).toHaveText(windowText!);
    const opened = await viewer.canvasStats();
    await page.reload();
    await viewer.waitForImage();
    await expect(viewer.timeReadout()).toHaveText('Time 20 / 20');
    expect((await viewer.canvasStats()).hash).toBe(opened.hash);
    await page.keyboard.press(',');
    await expect(viewer.timeReadout()).toHaveText('Time 19 / 20');
  });

  test('tag browser, corner overlay, help and keyboard shortcuts', async ({ page }) => {
    test.skip(!studyId, 'needs the study of the previous test');
    const viewer = new ViewerPage(page);
    await viewer.goto(studyId);
    await viewer.waitForImage();

    const tags = page.getByTestId('tag-browser');
    await expect(tags.getByTestId('tag-row').first()).toBeVisible();
    await tags.getByLabel('Search tags').fill('PatientName');
    await expect(tags.getByTestId('tag-row')).toHaveCount(1);
    await expect(tags.getByTestId('tag-row')).toContainText('CompressedSamples^CT1');
    await tags.getByLabel('Search tags').fill('0020,0013');
    await expect(tags.getByTestId('tag-row')).toContainText('InstanceNumber');
    // Cells run together in the row's text: "(0020,0013)InstanceNumberIS1".
    await expect(tags.getByTestId('tag-row')).toContainText(/IS\s*1$/);
    // The tags follow the slice under view (shortcuts are ignored while typing in the search box).
    await tags.getByLabel('Search tags').blur();
    await page.keyboard.press('End');
    await expect(viewer.sliceReadout()).toHaveText(`${SLICES} / ${SLICES}`);
    await expect(tags.getByTestId('tag-row')).toContainText(new RegExp(`IS\\s*${SLICES}$`));

    await expect(page.getByTestId('corner-overlay')).toBeVisible();
    await page.keyboard.press('o');
    await expect(page.getByTestId('corner-overlay')).toBeHidden();
    await page.getByRole('button', { name: 'Info' }).click();
    await expect(page.getByTestId('corner-overlay')).toContainText('1CT1');

    await page.keyboard.press('?');
    const help = page.getByRole('dialog', { name: 'Keyboard shortcuts' });
    await expect(help).toBeVisible();
    await expect(help).toContainText('Ruler (distance in mm)');
    await expect(help).toContainText('CT lung window');
    await shot(page, 'help');
    await page.keyboard.press('Escape');
    await expect(help).toBeHidden();

    await page.keyboard.press('m');
    await expect(viewer.tool('Ruler')).toHaveAttribute('aria-pressed', 'true');
    const hash = async () => (await viewer.canvasStats()).hash;
    await page.keyboard.press('z');
    await expect(viewer.tool('Zoom/pan')).toHaveAttribute('aria-pressed', 'true');
    const unzoomed = await viewer.canvasStats();
    // The zoom tool: the wheel zooms about the pointer, a drag pans.
    await viewer.wheel(-240, { x: 0.4, y: 0.4 });
    await expect.poll(hash).not.toBe(unzoomed.hash);
    const zoomed = await hash();
    await viewer.drag({ x: 0.5, y: 0.5 }, { x: 0.62, y: 0.58 });
    await expect.poll(hash).not.toBe(zoomed);
    await shot(page, 'zoomed-and-panned');
    await page.keyboard.press('r');
    await expect.poll(hash).toBe(unzoomed.hash);
    // Any other tool: ctrl+wheel (what a trackpad pinch sends) zooms, the slice stays.
    await page.keyboard.press('w');
    await page.keyboard.down('Control');
    await viewer.wheel(-240);
    await page.keyboard.up('Control');
    await expect.poll(hash).not.toBe(unzoomed.hash);
    await expect(viewer.sliceReadout()).toHaveText(`${SLICES} / ${SLICES}`);
    await page.keyboard.press('r');
    await expect.poll(hash).toBe(unzoomed.hash);
    await page.keyboard.press('+');
    await expect.poll(hash).not.toBe(unzoomed.hash);
    await page.keyboard.press('3');
    await expect(viewer.windowReadout()).toHaveText('W 1500 / L -600');
    // Reset: back to the first view of this slice.
    await page.keyboard.press('r');
    await expect.poll(hash).toBe(unzoomed.hash);
    await page.keyboard.press('Home');
    await expect(viewer.sliceReadout()).toHaveText(`1 / ${SLICES}`);
  });

  test('MR: the auto preset windows the image over its own pixel range; presets and shortcuts agree', async ({ page }) => {
    // mr_small_explicit_le.dcm (pydicom): stored 127…2145 without a rescale (manifest.json), file
    // window 1600/600.
    const dir = test.info().outputPath('mr');
    mkdirSync(dir, { recursive: true });
    const file = path.join(dir, 'MR-small.dcm');
    writeFileSync(file, freshCopies(readFileSync(path.join(DICOM_FIXTURES, 'mr_small_explicit_le.dcm')), 1)[0]!);
    const uploads = new UploadPage(page);
    await uploads.goto();
    await uploads.chooseFiles([file]);
    await expect(uploads.overall()).toContainText('1 of 1 done');
    await uploads.row('MR-small.dcm').getByRole('link', { name: 'Open study' }).click();
    await page.getByTestId('open-viewer').click();
    const viewer = new ViewerPage(page);
    await viewer.waitForImage();
    await expect(viewer.windowReadout()).toHaveText('W 1600 / L 600');
    const preset = page.getByLabel('Window preset');
    // An MR offers its own window and the automatic one, not the CT presets.
    await expect(preset.locator('option', { hasText: 'MR auto' })).toHaveCount(1);
    await expect(preset.locator('option', { hasText: 'CT lung' })).toHaveCount(0);
    const fileWindow = await viewer.canvasStats();
    await preset.selectOption('auto');
    const auto = await viewer.window();
    expect(auto.width).toBeGreaterThanOrEqual(2145 - 127);
    expect(auto.width).toBeLessThanOrEqual(2145 - 127 + 1);
    expect(Math.abs(auto.center - (127 + 2145) / 2)).toBeLessThanOrEqual(1);
    await expect.poll(async () => (await viewer.canvasStats()).hash).not.toBe(fileWindow.hash);
    await shot(page, 'mr-auto');
    // 0 goes back to the file's window, A to the automatic one.
    await page.keyboard.press('0');
    await expect(viewer.windowReadout()).toHaveText('W 1600 / L 600');
    await page.keyboard.press('a');
    await expect(viewer.windowReadout()).toHaveText(`W ${Math.round(auto.width)} / L ${Math.round(auto.center)}`);
    await expect(preset).toHaveValue('auto');
  });

  test('a pinch zooms on a touch screen whatever the tool: a ruler of the same length then measures less', async ({ browser }) => {
    test.skip(!studyId, 'needs the study of the first test');
    const context = await browser.newContext({ viewport: { width: 1400, height: 900 }, hasTouch: true });
    const page = await context.newPage();
    await signInAsAdmin(page);
    const viewer = new ViewerPage(page);
    await viewer.goto(studyId, 'slice=4');
    await viewer.waitForImage();
    const cdp = await context.newCDPSession(page);
    const measure = async () => {
      await viewer.tool('Ruler').click();
      await viewer.drag({ x: 0.4, y: 0.5 }, { x: 0.6, y: 0.5 });
      await expect(viewer.measurements()).toHaveCount(1);
      const value = Number.parseFloat((await viewer.measurements().first().getByTestId('measurement-value').textContent())!);
      await page.getByRole('button', { name: 'Clear measurements' }).click();
      return value;
    };
    const unzoomedMm = await measure();
    const unzoomed = await viewer.canvasStats();

    // The window/level tool: two fingers zoom, they do not change the window or the slice.
    await viewer.tool('Window/level').click();
    const window = await viewer.window();
    await viewer.pinch(cdp, 100, 300);
    await expect.poll(async () => (await viewer.canvasStats()).hash).not.toBe(unzoomed.hash);
    await expect(viewer.sliceReadout()).toHaveText(`4 / ${SLICES}`);
    expect(await viewer.window()).toEqual(window);
    await page.screenshot({ path: test.info().outputPath('pinched.png') });
    const zoomedMm = await measure();
    // Fingers spread: zoomed in, so the same ruler spans clearly less of the patient. (dwv damps
    // pinches: this one, to three times the distance, zooms by about 1.8.)
    expect(zoomedMm / unzoomedMm).toBeGreaterThan(0.15);
    expect(zoomedMm / unzoomedMm).toBeLessThan(0.75);

    await page.keyboard.press('r');
    await expect.poll(async () => (await viewer.canvasStats()).hash).toBe(unzoomed.hash);
    // The zoom tool takes the pinch itself (dwv's own touch handling); pinching in zooms out.
    await viewer.tool('Zoom/pan').click();
    await viewer.pinch(cdp, 300, 150);
    await expect.poll(async () => (await viewer.canvasStats()).hash).not.toBe(unzoomed.hash);
    expect((await measure()) / unzoomedMm).toBeGreaterThan(1.25);
    await context.close();
  });
});

interface FixtureEntry {
  id: string;
  categories: string[];
  expect_error?: boolean;
}

function fixtureList(dir: string): FixtureEntry[] {
  return (JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as { files: FixtureEntry[] }).files;
}

/**
 * Corpus files the viewer cannot show; each is still opened, and must end in a clear message
 * (never a spinner or a crash). None today: the server sends dwv a copy it reads correctly of
 * everything that holds an image (lib/imaging/decode/browser-fixes.ts).
 */
const KNOWN_UNVIEWABLE: Record<string, string> = {};
/** Shown, but without a picture worth checking: their pixel data is blank in the file itself. */
const BLANK_BY_DESIGN: Record<string, string> = {
  mr_enhanced_philips_4frames: 'the package authors blanked its pixels (all 0)',
  mr_decimal_rescale: "nibabel's test file for a decimal rescale: every pixel is 0 (-4096 after the rescale)",
};
/** Pictures of two values: drawn right, they show two grey levels and no more. */
const TWO_LEVELS: Record<string, string> = {
  seg_liver_1bit: 'a binary segmentation: 0 and 1',
  niigz_standard_uint8: 'a 4 × 5 × 7 test volume of 0 and 255',
};
/** Not opened at all. None today. */
const SKIPPED: Record<string, string> = {};

/** A copy with fresh Study/Series/SOP Instance UIDs, so that no file is a duplicate of another. */
function freshDicom(id: string, dir: string): string {
  const source = path.join(DICOM_FIXTURES, `${id}.dcm`);
  const target = path.join(dir, `${id}.dcm`);
  try {
    writeFileSync(target, freshCopies(readFileSync(source), 1)[0]!);
  } catch {
    // UIDs not stored as plain text (deflated dataset), or none at all: the file as it is.
    copyFileSync(source, target);
  }
  return target;
}

test('every viewable file of the corpus opens in the viewer and is drawn', async ({ page }) => {
  test.setTimeout(600_000);
  await signInAsAdmin(page);
  const dir = test.info().outputPath('corpus');
  mkdirSync(dir, { recursive: true });
  const files: { id: string; file: string; volumes?: number }[] = [];
  for (const entry of fixtureList(DICOM_FIXTURES)) {
    if (entry.expect_error || entry.categories.includes('no-pixel-data') || SKIPPED[entry.id]) continue;
    files.push({ id: entry.id, file: freshDicom(entry.id, dir) });
  }
  for (const entry of fixtureList(NIFTI_FIXTURES)) {
    if (entry.categories.includes('broken')) continue;
    const name = `${entry.id}${entry.categories.includes('nifti:nii.gz') ? '.nii.gz' : '.nii'}`;
    copyFileSync(path.join(NIFTI_FIXTURES, name), path.join(dir, name));
    files.push({ id: entry.id, file: path.join(dir, name), volumes: entry.categories.includes('nifti:4d') ? 2 : 1 });
  }
  // mr_decimal_rescale has no UIDs of its own: ingest gives it some, and it is viewed like the rest.
  const uploads = new UploadPage(page);
  await uploads.goto();
  await uploads.chooseFiles(files.map((f) => f.file));
  const finished = page.locator('[data-testid="upload-row"]:is([data-phase="done"], [data-phase="failed"])');
  await expect.poll(() => finished.count(), { timeout: 300_000 }).toBe(files.length);

  // Each upload row links to its study; collected before the page is left.
  const results: string[] = [];
  const studies: { id: string; studyId: string; volumes?: number }[] = [];
  for (const { id, file, volumes } of files) {
    const row = page.getByTestId('upload-row').filter({ has: page.getByRole('cell', { name: path.basename(file), exact: true }) });
    const link = row.getByRole('link', { name: 'Open study' });
    if ((await link.count()) === 0) results.push(`${id}: not stored (${(await row.textContent({ timeout: 1_000 }))?.trim()})`);
    else studies.push({ id, studyId: (await link.getAttribute('href'))!.split('/').pop()!, volumes });
  }

  const viewer = new ViewerPage(page);
  for (const { id, studyId, volumes } of studies) {
    await test.step(id, async () => {
      await viewer.goto(studyId);
      await expect(viewer.viewer(), id).toHaveAttribute('data-state', /ready|error/, { timeout: 30_000 });
      const state = await viewer.viewer().getAttribute('data-state');
      if (KNOWN_UNVIEWABLE[id]) {
        await expect(page.getByTestId('load-error'), id).toContainText('This series cannot be shown');
        results.push(`${id}: message shown (${KNOWN_UNVIEWABLE[id]})`);
      } else {
        if (state !== 'ready') throw new Error(`${id}: ${await page.getByTestId('load-error').textContent({ timeout: 1_000 }).catch(() => state)}`);
        let stats = await viewer.canvasStats();
        expect(stats.width, id).toBeGreaterThan(0);
        // A picture has shades: one or two grey levels is a blank or a thresholded (wrongly
        // windowed) image, unless the data holds no more. Volumes often start outside the body:
        // then the middle slice is looked at.
        const wanted = BLANK_BY_DESIGN[id] ? 1 : TWO_LEVELS[id] ? 2 : 3;
        if (stats.levels < wanted && (await viewer.sliceCount()) > 1) {
          await page.getByTestId('slice-slider').fill(String(Math.ceil((await viewer.sliceCount()) / 2)));
          await expect.poll(async () => (await viewer.canvasStats()).levels, { timeout: 5_000 }).toBeGreaterThanOrEqual(wanted);
          stats = await viewer.canvasStats();
        }
        expect(stats.levels, `${id} is drawn, with shades`).toBeGreaterThanOrEqual(wanted);
        // NIfTI: a volume of slices; a 4D one also offers its time points.
        if (volumes !== undefined && (await viewer.sliceCount()) === 0) throw new Error(`${id}: no slices`);
        if (volumes !== undefined && volumes > 1) await expect(viewer.timeReadout(), id).toHaveText(/^Time 1 \/ \d+$/);
        if (volumes === 1) await expect(viewer.timeReadout(), id).toHaveCount(0);
        results.push(`${id}: drawn, ${stats.levels} grey levels, slice ${await viewer.sliceReadout().textContent()}${volumes && volumes > 1 ? `, ${await viewer.timeReadout().textContent()}` : ''}`);
      }
      await page.screenshot({ path: test.info().outputPath(`corpus-${id}.png`) });
    });
  }
  writeFileSync(test.info().outputPath('corpus-results.txt'), results.join('\n'));
  await test.info().attach('corpus-results.txt', { body: results.join('\n'), contentType: 'text/plain' });
});
