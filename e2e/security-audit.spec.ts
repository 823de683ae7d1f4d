// Named to sort after auth.spec.ts: specs run in file order, and auth.spec.ts starts from the first-run screen.
import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { expect, test } from '@playwright/test';
import { ADMIN, AppShell, signInAsAdmin, SignInPage, UsersAdminPage } from './support/pages';

test('an administrator searches the audit trail and downloads it as CSV and JSON', async ({ page, browser }) => {
  test.setTimeout(120_000);
  await signInAsAdmin(page);

  // Something to find: a failed sign-in for an account that does not exist, from another browser.
  const stranger = `nobody-${randomUUID().slice(0, 8)}@hospital.test`;
  const other = await browser.newContext();
  const otherPage = await other.newPage();
  const signIn = new SignInPage(otherPage);
  await signIn.goto();
  await signIn.signIn(stranger, 'not the password at all');
  await signIn.expectError('Invalid email or password.');
  await other.close();

  await page.getByRole('link', { name: 'Audit trail' }).click();
  await expect(page).toHaveURL(/\/admin\/audit$/);
  await expect(page.getByRole('heading', { name: 'Audit trail' })).toBeVisible();
  await expect(page.getByTestId('audit-row').first()).toBeVisible();

  const filters = page.getByRole('form', { name: 'Audit filters' });
  await filters.getByLabel('Who (email or id)').fill(stranger);
  await filters.getByLabel('Action').fill('auth.sign_in');
  await filters.getByLabel('Outcome').selectOption('failure');
  await filters.getByRole('button', { name: 'Search' }).click();
  await expect(page).toHaveURL(/outcome=failure/);
  const rows = page.getByTestId('audit-row');
  await expect(rows).toHaveCount(1);
  await expect(rows.first()).toContainText('auth.sign_in');
  await expect(rows.first()).toContainText(stranger);
  await expect(rows.first()).toContainText('User Authentication');
  await expect(rows.first()).toContainText('unknown_account');
  await expect(page.getByTestId('audit-count')).toHaveText('1 entry');
  await page.screenshot({ path: test.info().outputPath('audit-search.png') });

  // The CSV export carries the same filters.
  const [csvDownload] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Export CSV' }).click()]);
  expect(csvDownload.suggestedFilename()).toMatch(/^audit-trail-.*\.csv$/);
  const csv = readFileSync((await csvDownload.path())!, 'utf8').trimEnd().split('\r\n');
  expect(csv[0]).toMatch(/^id,at,eventId,eventIdName,eventTypeCode,eventTypeName,eventActionCode,eventOutcomeIndicator,action,outcome,userId,userEmail,role/);
  expect(csv).toHaveLength(2);
  expect(csv[1]).toContain(',110114,User Authentication,110122,Login,E,4,auth.sign_in,failure,');
  expect(csv[1]).toContain(stranger);

  const [jsonDownload] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Export JSON' }).click()]);
  const json = JSON.parse(readFileSync((await jsonDownload.path())!, 'utf8')) as Array<Record<string, unknown>>;
  expect(json).toHaveLength(1);
  expect(json[0]).toMatchObject({ action: 'auth.sign_in', outcome: 'failure', userEmail: stranger, eventId: '110114', eventOutcomeIndicator: 4, details: { reason: 'unknown_account' } });

  // Searching and exporting are in the trail themselves, with who did it.
  await page.goto('/admin/audit?action=audit.*');
  await expect(page.getByTestId('audit-row').filter({ hasText: 'audit.export' })).toHaveCount(2);
  await expect(page.getByTestId('audit-row').filter({ hasText: 'audit.search' }).first()).toContainText(ADMIN.email);
  await page.screenshot({ path: test.info().outputPath('audit-exports.png') });

  // Signing out is recorded as well (PS3.15 User Authentication, Logout).
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(/\/sign-in/);
  await signInAsAdmin(page);
  await page.goto(`/admin/audit?action=auth.sign_out&user=${encodeURIComponent(ADMIN.email)}`);
  const signOut = page.getByTestId('audit-row').first();
  await expect(signOut).toContainText('auth.sign_out');
  await expect(signOut).toContainText('Logout');
  await expect(signOut).toContainText(ADMIN.email);
});

test('a non-administrator is refused the audit trail, and the refusals are in it', async ({ page, browser }) => {
  test.setTimeout(120_000);
  await signInAsAdmin(page);
  const viewer = { name: 'Vera Viewer', email: `vera-${randomUUID().slice(0, 8)}@hospital.test`, password: 'viewer passphrase here' };
  const users = new UsersAdminPage(page);
  await users.goto();
  await users.addUser(viewer, 'viewer');

  const context = await browser.newContext();
  const viewerPage = await context.newPage();
  const signIn = new SignInPage(viewerPage);
  await signIn.goto();
  await signIn.signIn(viewer.email, viewer.password);
  await expect(viewerPage).not.toHaveURL(/sign-in/);
  await expect(viewerPage.getByRole('link', { name: 'Audit trail' })).toHaveCount(0);
  const pageAnswer = await viewerPage.goto('/admin/audit');
  expect(pageAnswer?.status()).toBe(404);
  const apiAnswer = await viewerPage.request.get('/api/audit?format=csv');
  expect(apiAnswer.status()).toBe(403);
  expect(await apiAnswer.json()).toMatchObject({ error: { code: 'forbidden' } });
  await new AppShell(viewerPage).signOut();
  await context.close();

  await page.goto(`/admin/audit?user=${encodeURIComponent(viewer.email)}`);
  const rows = page.getByTestId('audit-row');
  await expect(rows.filter({ hasText: 'page.admin_audit' })).toHaveCount(1);
  await expect(rows.filter({ hasText: 'page.admin_audit' })).toContainText('denied');
  await expect(rows.filter({ hasText: 'audit.search' })).toHaveCount(1);
  await expect(rows.filter({ hasText: 'audit.search' })).toContainText('viewer');
  await expect(rows.filter({ hasText: 'auth.sign_in' })).toHaveCount(1);
  await expect(rows.filter({ hasText: 'auth.sign_out' })).toHaveCount(1);
  await page.screenshot({ path: test.info().outputPath('audit-refusals.png') });
});
