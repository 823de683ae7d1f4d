import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect, test } from '@playwright/test';
import yazl from 'yazl';
import { makeSeries } from '@/lib/testing/dicom-series';
import { writeNifti } from './support/nifti';
import { signInAsAdmin, UploadPage } from './support/pages';

const fixtures = path.resolve('lib/dicom/__fixtures__');
const niftiFixtures = path.resolve('lib/nifti/__fixtures__');
const ctSmall = path.join(fixtures, 'ct_small_explicit_le.dcm');
const CT_UIDS = (() => {
  const manifest = JSON.parse(readFileSync(path.join(fixtures, 'manifest.json'), 'utf8')) as { files: { id: string; reference: { tags: Record<string, string> } }[] };
  const tags = manifest.files.find((f) => f.id === 'ct_small_explicit_le')!.reference.tags;
  return { study: tags.StudyInstanceUID!, series: tags.SeriesInstanceUID!, sop: tags.SOPInstanceUID!, patientName: tags.PatientName! };
})();

test.beforeEach(async ({ page }) => {
  await signInAsAdmin(page);
});

test('upload files: each gets progress and a result, bad files a clear error, good ones a study', async ({ page }) => {
  const uploads = new UploadPage(page);
  await uploads.goto();
  await uploads.chooseFiles([ctSmall, path.join(fixtures, 'broken_not_dicom_text.dcm'), path.join(niftiFixtures, 'niigz_example4d_int16.nii.gz')]);

  await expect(uploads.row('ct_small_explicit_le.dcm')).toContainText(/Stored 1 image|already stored/);
  await expect(uploads.row('broken_not_dicom_text.dcm').getByRole('alert')).toHaveText('Not a DICOM, NIfTI (.nii, .nii.gz) or zip file');
  await expect(uploads.row('niigz_example4d_int16.nii.gz')).toContainText('Stored 1 image');
  await expect(uploads.overall()).toContainText('2 of 3 done, 1 failed');
  await page.screenshot({ path: test.info().outputPath('upload-results.png'), fullPage: true });

  await uploads.row('ct_small_explicit_le.dcm').getByRole('link', { name: 'Open study' }).click();
  await expect(page.getByTestId('study-patient')).toHaveText(CT_UIDS.patientName);
  await expect(page.getByTestId('series-row')).toHaveCount(1);

  const studyPath = new URL(page.url()).pathname;
  await page.goto('/');
  await expect(page.locator(`a[href="${studyPath}"]`)).toHaveText(CT_UIDS.patientName);
});

test('upload a whole folder: a CT series becomes one study with one series', async ({ page }) => {
  const dir = test.info().outputPath('ct-folder');
  mkdirSync(path.join(dir, 'series1'), { recursive: true });
  const made = makeSeries(readFileSync(ctSmall), CT_UIDS, 8);
  made.files.forEach((data, i) => writeFileSync(path.join(dir, 'series1', `IM${i}.dcm`), data));

  const uploads = new UploadPage(page);
  await uploads.goto();
  await uploads.chooseFolder(dir);
  await expect(uploads.overall()).toContainText('8 of 8 done');
  await uploads.row('IM0.dcm').getByRole('link', { name: 'Open study' }).click();
  await expect(page.getByTestId('series-row')).toHaveCount(1);
  await expect(page.getByTestId('series-row')).toContainText('8');
});

test('pause, resume, and resume after a page reload without sending the start again', async ({ page, context }) => {
  const file = test.info().outputPath('volume.nii');
  const size = writeNifti(file, 48);
  const cdp = await context.newCDPSession(page);
  // Slow the link so the upload can be caught mid-way (about 4 MB/s).
  await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 5, downloadThroughput: 50 * 1024 * 1024, uploadThroughput: 4 * 1024 * 1024 });

  const uploads = new UploadPage(page);
  await uploads.goto();
  await uploads.chooseFiles([file]);
  const row = uploads.row('volume.nii');
  const bar = row.getByRole('progressbar');
  await expect.poll(async () => Number(await bar.getAttribute('value')), { timeout: 30_000 }).toBeGreaterThan(0);
  await row.getByRole('button', { name: 'Pause' }).click();
  await expect(row).toHaveAttribute('data-phase', 'paused');
  const pausedAt = Number(await bar.getAttribute('value'));
  await row.getByRole('button', { name: 'Resume' }).click();
  await expect.poll(async () => Number(await bar.getAttribute('value')), { timeout: 30_000 }).toBeGreaterThan(pausedAt);

  // Reload mid-upload, then choose the same file again: tus resumes from the server's offset.
  await expect.poll(async () => Number(await bar.getAttribute('value')), { timeout: 30_000 }).toBeGreaterThan(16 * 1024 * 1024);
  await page.reload();
  await expect(page.getByTestId('pending-resumes')).toBeVisible();
  const creations: string[] = [];
  const heads: string[] = [];
  page.on('request', (r) => {
    if (!r.url().includes('/api/upload')) return;
    if (r.method() === 'POST') creations.push(r.url());
    if (r.method() === 'HEAD') heads.push(r.url());
  });
  await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
  await uploads.chooseFiles([file]);
  await expect(uploads.row('volume.nii')).toContainText('Stored 1 image', { timeout: 60_000 });
  expect(heads.length).toBeGreaterThan(0);
  expect(creations).toEqual([]);
  expect(size).toBeGreaterThan(40 * 1024 * 1024);
});

test('a network drop mid-upload is retried by itself and the upload completes', async ({ page, context }) => {
  const file = test.info().outputPath('drop.nii');
  writeNifti(file, 34);
  const cdp = await context.newCDPSession(page);
  const slow = { offline: false, latency: 5, downloadThroughput: 50 * 1024 * 1024, uploadThroughput: 4 * 1024 * 1024 };
  await cdp.send('Network.emulateNetworkConditions', slow);
  const uploads = new UploadPage(page);
  await uploads.goto();
  const heads: string[] = [];
  page.on('request', (r) => {
    if (r.url().includes('/api/upload') && r.method() === 'HEAD') heads.push(r.url());
  });
  await uploads.chooseFiles([file]);
  const row = uploads.row('drop.nii');
  const bar = row.getByRole('progressbar');
  await expect.poll(async () => Number(await bar.getAttribute('value')), { timeout: 30_000 }).toBeGreaterThan(0);

  // The connection of the next chunk is reset, as by a flaky network.
  let dropped = 0;
  await page.route('**/api/upload/**', async (route) => {
    if (route.request().method() === 'PATCH' && dropped === 0) {
      dropped++;
      await route.abort('connectionreset');
    } else {
      await route.continue();
    }
  });

  await expect(row).toContainText('Stored 1 image', { timeout: 60_000 });
  expect(dropped).toBe(1);
  // tus-js-client asked the server where to carry on after the drop.
  expect(heads.length).toBeGreaterThan(0);
});

test('drag and drop a zip archive onto the page', async ({ page }) => {
  const made = makeSeries(readFileSync(ctSmall), CT_UIDS, 5);
  const zip = new yazl.ZipFile();
  made.files.forEach((f, i) => zip.addBuffer(f, `export/IM${i}`));
  zip.end();
  const chunks: Buffer[] = [];
  for await (const chunk of zip.outputStream as AsyncIterable<Buffer>) chunks.push(chunk);
  const bytes = Buffer.concat(chunks).toString('base64');

  const uploads = new UploadPage(page);
  await uploads.goto();
  // A real drop: a DataTransfer holding the file, dispatched as the browser does for a drag.
  const transfer = await page.evaluateHandle((b64) => {
    const data = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const dt = new DataTransfer();
    dt.items.add(new File([data], 'scanner-export.zip', { type: 'application/zip' }));
    return dt;
  }, bytes);
  await page.getByTestId('dropzone').dispatchEvent('dragover', { dataTransfer: transfer });
  await page.getByTestId('dropzone').dispatchEvent('drop', { dataTransfer: transfer });
  await expect(uploads.row('scanner-export.zip')).toContainText('Stored 5 image(s)');
  await uploads.row('scanner-export.zip').getByRole('link', { name: 'Open study' }).click();
  await expect(page.getByTestId('series-row')).toHaveCount(1);
  await expect(page.getByTestId('series-row')).toContainText('5');
});
