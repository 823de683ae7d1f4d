import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import { randomTag, studyFixture } from '@/lib/testing/study-fixture';
import { ADMIN, AppShell, signInAsAdmin, SignInPage, UploadPage, UsersAdminPage } from './support/pages';
import { WorklistPage } from './support/worklist-page';

const RADIOLOGIST = { name: 'Rita Radiologist', email: 'rita.radiologist@hospital.test', password: 'radiologist passphrase' };
const WARD_CLINICIAN = { name: 'Wanda Ward', email: 'wanda.ward@hospital.test', password: 'ward clinician passphrase' };

// Patients of this run only: the worklist also holds every other spec's uploads.
const TAG = `WL${randomTag(6)}`;
const ALPHA = `${TAG}^ALPHA`;
const BRAVO = `${TAG}^BRAVO`;

async function uploadStudies(page: Page): Promise<Record<string, string>> {
  const dir = test.info().outputPath('worklist-uploads');
  mkdirSync(dir, { recursive: true });
  const files = [
    { name: ALPHA, file: path.join(dir, 'alpha-ct.dcm'), fixture: studyFixture('ct_small_explicit_le', { patientName: ALPHA, studyDate: '20240105' }) },
    { name: BRAVO, file: path.join(dir, 'bravo-mr.dcm'), fixture: studyFixture('mr_small_explicit_le', { patientName: BRAVO, studyDate: '20240210' }) },
  ];
  for (const f of files) writeFileSync(f.file, f.fixture.data);
  const uploads = new UploadPage(page);
  await uploads.goto();
  await uploads.chooseFiles(files.map((f) => f.file));
  await expect(uploads.overall()).toContainText('2 of 2 done');
  const ids: Record<string, string> = {};
  for (const f of files) {
    const href = await uploads.row(path.basename(f.file)).getByRole('link', { name: 'Open study' }).getAttribute('href');
    ids[f.name] = href!.split('/').pop()!;
  }
  return ids;
}

test('worklist: find, filter, assign, prioritise, save and re-apply a search; study detail with series, jobs and audit', async ({ page, browser }) => {
  test.setTimeout(180_000);
  await signInAsAdmin(page);
  const users = new UsersAdminPage(page);
  await users.goto();
  await users.addUser(RADIOLOGIST, 'radiologist');
  await users.addUser(WARD_CLINICIAN, 'clinician');

  const ids = await uploadStudies(page);
  // The processing jobs decode both studies; the status follows by itself.
  await expect
    .poll(async () => (await (await page.request.get(`/api/studies?q=${TAG}&status=processed`)).json()).total, { timeout: 60_000 })
    .toBe(2);

  const worklist = new WorklistPage(page);
  await worklist.goto();
  await worklist.applyFilters({ q: TAG });
  expect(new URL(page.url()).searchParams.get('q')).toBe(TAG);
  await expect(worklist.rows()).toHaveCount(2);
  await expect(worklist.row(ALPHA).getByTestId('study-status')).toHaveText('processed');
  await expect(worklist.row(BRAVO).getByTestId('study-status')).toHaveText('processed');

  // Filters: status and modality, kept in the URL.
  await worklist.applyFilters({ status: ['processed'], modality: 'CT' });
  await expect(worklist.rows()).toHaveCount(1);
  await expect(worklist.rows().first()).toContainText(ALPHA);
  const filtered = new URL(page.url()).searchParams;
  expect(filtered.getAll('status')).toEqual(['processed']);
  expect(filtered.get('modality')).toBe('CT');
  await worklist.applyFilters({ status: ['received'], modality: '' });
  await expect(page.getByText('No studies match these filters.')).toBeVisible();
  await worklist.applyFilters({ status: [] });
  await expect(worklist.rows()).toHaveCount(2);

  // Workflow from the worklist: assign to me, assign to a radiologist, prioritise.
  await worklist.clickAssignToMe(ALPHA);
  await expect(worklist.assignToMe(ALPHA)).toHaveCount(0);
  await worklist.setAssignee(BRAVO, RADIOLOGIST.name);
  await worklist.setPriority(ALPHA, 'stat');
  await page.reload();
  await expect(worklist.priority(ALPHA)).toHaveValue('stat');
  await expect(worklist.assignee(ALPHA).locator('option:checked')).toHaveText(/\(me\)$/);
  await expect(worklist.assignee(BRAVO).locator('option:checked')).toHaveText(RADIOLOGIST.name);
  await expect(worklist.row(ALPHA)).toHaveClass(/priority-row-stat/);

  // Assigned to me, stat only; the URL opens the same list in a fresh tab.
  await worklist.applyFilters({ assignee: 'me', priority: ['stat'] });
  await expect(worklist.rows()).toHaveCount(1);
  await expect(worklist.rows().first()).toContainText(ALPHA);
  const shared = page.url();
  expect(new URL(shared).searchParams.get('assignee')).toBe('me');
  const tab = await page.context().newPage();
  await tab.goto(shared);
  await expect(tab.getByTestId('worklist-row')).toHaveCount(1);
  await tab.close();
  await page.screenshot({ path: test.info().outputPath('worklist-filtered.png'), fullPage: true });

  // Save the search, leave it, and apply it again from the list.
  await worklist.saveSearch('My stat queue');
  await expect(worklist.savedSearches().getByRole('link', { name: 'My stat queue' })).toBeVisible();
  await worklist.goto();
  await worklist.savedSearches().getByRole('link', { name: 'My stat queue' }).click();
  await expect.poll(() => new URL(page.url()).searchParams.get('priority')).toBe('stat');
  expect(new URL(page.url()).searchParams.get('q')).toBe(TAG);
  await expect(worklist.rows()).toHaveCount(1);
  await expect(worklist.rows().first()).toContainText(ALPHA);
  await expect(worklist.filters().getByRole('checkbox', { name: 'stat' })).toBeChecked();
  // A second saved search, then deleted.
  await worklist.saveSearch('Scratch');
  await worklist.savedSearches().getByRole('button', { name: 'Delete saved search Scratch' }).click();
  await expect(worklist.savedSearches().getByRole('link', { name: 'Scratch' })).toHaveCount(0);
  await expect(worklist.savedSearches().getByTestId('saved-search')).toHaveCount(1);

  // Study detail: header, workflow, series with a thumbnail, the finished job, the audit trail.
  await worklist.rows().first().getByRole('link', { name: ALPHA, exact: true }).click();
  await expect(page).toHaveURL(new RegExp(`/studies/${ids[ALPHA]}$`));
  await expect(page.getByTestId('study-patient')).toHaveText(ALPHA);
  await expect(page.getByTestId('header-assignee')).toHaveText(ADMIN.name);
  await expect(page.getByLabel(`Priority of ${ALPHA}`)).toHaveValue('stat');
  await expect(page.getByTestId('series-row')).toHaveCount(1);
  const thumb = page.getByTestId('series-thumb');
  await expect.poll(() => thumb.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth)).toBeGreaterThan(0);
  const job = page.getByTestId('job-row');
  await expect(job).toHaveCount(1);
  await expect(job).toHaveAttribute('data-status', 'succeeded');
  await expect(job).toContainText('process-study');
  await expect(job).toContainText('100%');
  await expect(page.getByRole('heading', { name: 'AI results and reports' })).toBeVisible();
  await expect(page.getByRole('heading', { name: 'Segmentations' })).toBeVisible();

  const audit = page.getByTestId('audit-section');
  await expect(audit).toBeVisible();
  await expect(audit.getByTestId('audit-row').filter({ hasText: 'study.update' })).toHaveCount(2);
  await expect(audit.getByTestId('audit-row').filter({ hasText: 'study.read' }).first()).toBeVisible();
  await audit.getByLabel('Action').selectOption('study.update');
  await audit.getByRole('button', { name: 'Filter trail' }).click();
  await expect(page).toHaveURL(/auditAction=study\.update/);
  await expect(audit.getByTestId('audit-row')).toHaveCount(2);
  await expect(audit.getByTestId('audit-row').first()).toContainText('priority');
  await page.screenshot({ path: test.info().outputPath('study-detail-admin.png'), fullPage: true });

  // Re-process from the study page: a new job runs to the end.
  await page.goto(`/studies/${ids[ALPHA]}`);
  await page.getByRole('button', { name: 'Re-process' }).click();
  await expect(page.getByTestId('job-row')).toHaveCount(2);
  await expect(page.getByTestId('job-row').first()).toHaveAttribute('data-status', 'succeeded', { timeout: 60_000 });
  await new AppShell(page).signOut();

  // A clinician: may change priority, not assign, and sees no audit trail.
  const context = await browser.newContext();
  const clinician = await context.newPage();
  await new SignInPage(clinician).goto();
  await new SignInPage(clinician).signIn(WARD_CLINICIAN.email, WARD_CLINICIAN.password);
  await expect(clinician).not.toHaveURL(/sign-in/);
  await clinician.goto(`/studies/${ids[BRAVO]}`);
  await expect(clinician.getByTestId('study-patient')).toHaveText(BRAVO);
  await expect(clinician.getByTestId('series-row')).toHaveCount(1);
  await expect(clinician.getByTestId('job-row')).toHaveCount(1);
  await expect(clinician.getByTestId('audit-section')).toHaveCount(0);
  await expect(clinician.getByRole('heading', { name: 'Audit trail' })).toHaveCount(0);
  await expect(clinician.getByLabel(`Assignee of ${BRAVO}`)).toHaveCount(0);
  await expect(clinician.getByTestId('study-assignee')).toHaveText(RADIOLOGIST.name);
  await clinician.getByLabel(`Priority of ${BRAVO}`).selectOption('urgent');
  await expect(clinician.getByLabel(`Priority of ${BRAVO}`)).toHaveAttribute('data-saved', 'urgent');
  await clinician.reload();
  await expect(clinician.getByLabel(`Priority of ${BRAVO}`)).toHaveValue('urgent');
  const refused = await clinician.request.get(`/api/studies/${ids[BRAVO]}/audit`);
  expect(refused.status()).toBe(403);
  expect((await refused.json()).error.code).toBe('forbidden');
  await clinician.screenshot({ path: test.info().outputPath('study-detail-clinician.png'), fullPage: true });
  await context.close();
});
