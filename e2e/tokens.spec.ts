import { expect, request as playwrightRequest, test } from '@playwright/test';
import { signInAsAdmin } from './support/pages';

test.describe.configure({ mode: 'serial' });

test('an administrator creates an API token; an external system uses it within its scopes until it is revoked', async ({ page, baseURL }) => {
  await signInAsAdmin(page);
  await page.getByRole('link', { name: 'API tokens' }).click();
  await expect(page).toHaveURL(/\/admin\/tokens$/);
  await expect(page.getByRole('heading', { name: 'API tokens' })).toBeVisible();

  const name = `PACS bridge ${Date.now()}`;
  const form = page.getByRole('form', { name: 'Create a token' });
  await form.getByLabel('Name').fill(name);
  await form.getByLabel('Role').selectOption('radiologist');
  await form.getByRole('checkbox', { name: /studies:read/ }).check();
  await form.getByRole('button', { name: 'Create token' }).click();

  const shown = page.getByRole('status', { name: 'New token' });
  await expect(shown).toContainText('shown only this once');
  const secret = await shown.getByLabel('Token secret').inputValue();
  expect(secret).toMatch(/^imp_/);
  const row = page.getByTestId(`token-${name}`);
  await expect(row).toContainText('studies:read');
  await expect(row).toContainText('active');
  await expect(row).toContainText('never');
  await page.screenshot({ path: test.info().outputPath('token-created.png') });

  // The external system: no browser session, only the bearer token.
  const external = await playwrightRequest.newContext({ baseURL, extraHTTPHeaders: { Authorization: `Bearer ${secret}` } });
  const allowed = await external.get('/api/studies');
  expect(allowed.status()).toBe(200);
  expect(await allowed.json()).toMatchObject({ studies: expect.any(Array) });
  // The radiologist role may search DICOMweb, but this token lacks the dicomweb:read scope.
  const refused = await external.get('/dicomweb/studies');
  expect(refused.status()).toBe(403);
  expect(await refused.json()).toMatchObject({ error: { code: 'forbidden', message: expect.stringContaining('dicomweb:read') } });

  // The secret is never shown again; the list records the use.
  await page.reload();
  await expect(page.getByRole('status', { name: 'New token' })).toHaveCount(0);
  expect(await page.content()).not.toContain(secret);
  await expect(row).not.toContainText('never');

  await row.getByRole('button', { name: 'Revoke' }).click();
  await expect(row).toContainText('revoked');
  const afterRevoke = await external.get('/api/studies');
  expect(afterRevoke.status()).toBe(401);
  expect(await afterRevoke.json()).toMatchObject({ error: { code: 'unauthorized' } });
  await page.screenshot({ path: test.info().outputPath('token-revoked.png') });
  await external.dispose();
});

test('the API description is public', async ({ baseURL }) => {
  const anonymous = await playwrightRequest.newContext({ baseURL });
  const res = await anonymous.get('/api/openapi.json');
  expect(res.status()).toBe(200);
  const doc = await res.json();
  expect(doc.openapi).toBe('3.1.0');
  expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/api/tokens', '/dicomweb/studies']));
  await anonymous.dispose();
});
