import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect, test } from '@playwright/test';
import { makeSeries } from '@/lib/testing/dicom-series';
import { signInAsAdmin, UploadPage } from './support/pages';

const fixtures = path.resolve('lib/dicom/__fixtures__');
const manifest = JSON.parse(readFileSync(path.join(fixtures, 'manifest.json'), 'utf8')) as { files: { id: string; reference: { tags: Record<string, string> } }[] };

/** A fixture with fresh UIDs so it is never a duplicate of an earlier upload. */
function freshCopy(id: string, dir: string): string {
  const tags = manifest.files.find((f) => f.id === id)!.reference.tags;
  const [data] = makeSeries(readFileSync(path.join(fixtures, `${id}.dcm`)), { study: tags.StudyInstanceUID!, series: tags.SeriesInstanceUID!, sop: tags.SOPInstanceUID! }, 1).files;
  const file = path.join(dir, `${id}.dcm`);
  writeFileSync(file, data!);
  return file;
}

test('compressed uploads are processed in the background and render through the image API', async ({ page }) => {
  await signInAsAdmin(page);
  const ids = ['mr_small_jpegls_lossless', 'mr_small_j2k_lossless', 'ct_jpeg_lossless_p14', 'nm_jpeg_extended_12bit'];
  const dir = test.info().outputPath('uploads');
  mkdirSync(dir, { recursive: true });
  const files = ids.map((id) => freshCopy(id, dir));
  const uploads = new UploadPage(page);
  await uploads.goto();
  await uploads.chooseFiles(files);
  await expect(uploads.overall()).toContainText(`${ids.length} of ${ids.length} done`);

  for (const id of ids) {
    const href = await uploads.row(`${id}.dcm`).getByRole('link', { name: 'Open study' }).getAttribute('href');
    const studyId = href!.split('/').pop()!;
    const res = await page.request.get(`/api/studies/${studyId}/image?size=256`);
    expect(res.status(), id).toBe(200);
    expect(res.headers()['content-type']).toBe('image/png');
    const body = await res.body();
    writeFileSync(test.info().outputPath(`${id}.png`), body);
    // The durable job decodes each study; the worklist shows it processed.
    await expect
      .poll(async () => (await (await page.request.get(`/api/studies/${studyId}`)).json()).study.status, { timeout: 30_000 })
      .toBe('processed');
  }
  await page.goto('/');
  await expect(page.getByTestId('study-status').filter({ hasText: 'processed' }).first()).toBeVisible();
});
