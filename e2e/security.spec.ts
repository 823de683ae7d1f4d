import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import { signInAsAdmin, UploadPage } from './support/pages';
import { makeCtVolume, ViewerPage } from './support/viewer-page';

/** Collects every Content Security Policy violation the page reports, from its first script on. */
async function watchViolations(page: Page): Promise<() => Promise<string[]>> {
  await page.addInitScript(() => {
    const seen: string[] = [];
    (window as unknown as { __cspViolations: string[] }).__cspViolations = seen;
    document.addEventListener('securitypolicyviolation', (e) => seen.push(`${e.violatedDirective} ${e.blockedURI} at ${e.sourceFile}:${e.lineNumber}:${e.columnNumber} ${e.sample}`));
  });
  return () => page.evaluate(() => (window as unknown as { __cspViolations: string[] }).__cspViolations);
}

test('pages carry a nonce-based CSP, HSTS, nosniff and frame-ancestors; API answers are locked down', async ({ page, request }) => {
  const first = await request.get('/sign-in');
  const second = await request.get('/sign-in');
  const policy = first.headers()['content-security-policy']!;
  expect(policy).toMatch(/script-src 'self' 'nonce-[A-Za-z0-9+/=]{24}' 'strict-dynamic'/);
  expect(policy).toContain("frame-ancestors 'none'");
  expect(policy).not.toContain('unsafe-eval');
  // A fresh nonce per response, and Next.js's own scripts carry it.
  const nonce = /'nonce-([^']+)'/.exec(policy)![1]!;
  expect(second.headers()['content-security-policy']).not.toContain(nonce);
  const html = await first.text();
  const scripts = [...html.matchAll(/<script\b[^>]*>/g)].map((m) => m[0]);
  expect(scripts.length).toBeGreaterThan(0);
  for (const tag of scripts) expect(tag).toContain(`nonce="${nonce}"`);

  for (const res of [first, await request.get('/api/health'), await request.get('/api/studies')]) {
    const headers = res.headers();
    expect(headers['x-content-type-options']).toBe('nosniff');
    expect(headers['strict-transport-security']).toMatch(/max-age=\d{8}/);
    expect(headers['x-frame-options']).toBe('DENY');
  }
  expect((await request.get('/api/health')).headers()['content-security-policy']).toBe("default-src 'none'; frame-ancestors 'none'; sandbox");

  // The policy does not get in the way of the app itself: sign-in, worklist, upload and viewer.
  const violations = await watchViolations(page);
  await signInAsAdmin(page);
  const dir = test.info().outputPath('ct');
  mkdirSync(dir, { recursive: true });
  const files = makeCtVolume(3).files.map((data, i) => {
    const file = path.join(dir, `CSP${i + 1}.dcm`);
    writeFileSync(file, data);
    return file;
  });
  const uploads = new UploadPage(page);
  await uploads.goto();
  await uploads.chooseFiles(files);
  await expect(uploads.overall()).toContainText('3 of 3 done', { timeout: 60_000 });
  await uploads.row('CSP1.dcm').getByRole('link', { name: 'Open study' }).click();
  await page.getByTestId('open-viewer').click();
  await new ViewerPage(page).waitForImage();
  // The one report allowed: a bundled feature probe (is-generator-function) that tries
  // Function('return function*() {}') inside try/catch and works on without it.
  expect((await violations()).filter((v) => !v.startsWith('script-src eval '))).toEqual([]);
});
