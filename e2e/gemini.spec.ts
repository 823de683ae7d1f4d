// AI analysis end to end. Named to sort after auth.spec.ts: the specs run in file order, one
// installation, and auth.spec checks the first run before any account exists.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import { FAKE_DEFAULT_ANSWER, FAKE_DEFAULT_REPORT, type FakeScenario, type RecordedRequest } from '@/lib/ai/testing/fake-gemini';
import { studyFixture } from '@/lib/testing/study-fixture';
import { E2E_SERVER_ENV } from '../playwright.config';
import { signInAsAdmin, UploadPage } from './support/pages';
import { ViewerPage } from './support/viewer-page';

test.use({ viewport: { width: 1400, height: 900 } });
test.describe.configure({ mode: 'serial' });

const FAKE = process.env.E2E_FAKE_GEMINI_URL!;
// Replaced in place in a corpus file, so cut to the fixture's lengths (studyFixture answers what was written).
const PATIENT = { name: 'Aiversuch^Hildegard', id: 'Q7Z4' };

async function fake(page: Page, scenario: FakeScenario) {
  const res = await page.request.post(`${FAKE}/__fake/${scenario === 'ok' ? 'reset' : 'scenario'}`, { data: { scenario } });
  expect(res.ok()).toBe(true);
}

async function fakeRequests(page: Page): Promise<RecordedRequest[]> {
  return ((await (await page.request.get(`${FAKE}/__fake/requests`)).json()) as { requests: RecordedRequest[] }).requests;
}

async function shot(page: Page, name: string) {
  await page.screenshot({ path: test.info().outputPath(`${name}.png`) });
}

let studyId = '';

async function answerCount(page: Page): Promise<number> {
  const res = await page.request.get(`/api/studies/${studyId}`);
  const body = (await res.json()) as { study: { analyses: { kind: string }[] } };
  return body.study.analyses.filter((a) => a.kind === 'ai_answer').length;
}

async function ask(page: Page, question: string) {
  const panel = page.getByTestId('ai-panel');
  await panel.getByTestId('ai-question').fill(question);
  await panel.getByTestId('ai-ask').click();
  const turn = panel.getByTestId('ai-turn').last();
  await expect(turn).not.toHaveAttribute('data-state', 'streaming', { timeout: 30_000 });
  return turn;
}

test.beforeEach(async ({ page }) => {
  await signInAsAdmin(page);
  await fake(page, 'ok');
});

test('upload a CT image for the AI tests', async ({ page }) => {
  const dir = test.info().outputPath('files');
  mkdirSync(dir, { recursive: true });
  const fixture = studyFixture('ct_small_explicit_le', { patientName: PATIENT.name, patientId: PATIENT.id });
  expect([fixture.patientName, fixture.patientId]).toEqual([PATIENT.name, PATIENT.id]);
  const file = path.join(dir, 'ai-ct.dcm');
  writeFileSync(file, fixture.data);
  const uploads = new UploadPage(page);
  await uploads.goto();
  await uploads.chooseFiles([file]);
  await expect(uploads.overall()).toContainText('1 of 1 done', { timeout: 60_000 });
  const href = await uploads.row('ai-ct.dcm').getByRole('link', { name: 'Open study' }).getAttribute('href');
  studyId = href!.split('/').pop()!;
});

test('viewer: ask a question about the image on screen and read the streamed answer with the notice', async ({ page }) => {
  // The streamed fetch must live with the page's Content Security Policy.
  await page.addInitScript(() => {
    const seen: string[] = [];
    (window as unknown as { __cspViolations: string[] }).__cspViolations = seen;
    document.addEventListener('securitypolicyviolation', (e) => seen.push(`${e.violatedDirective} ${e.blockedURI}`));
  });
  const viewer = new ViewerPage(page);
  await viewer.goto(studyId, 'wc=40&ww=400');
  await viewer.waitForImage();
  await page.getByTestId('ai-toggle').click();
  const panel = page.getByTestId('ai-panel');
  await expect(panel.getByTestId('ai-notice')).toContainText('not a diagnosis');
  const turn = await ask(page, 'Is there any fracture?');
  await expect(turn).toHaveAttribute('data-state', 'done');
  await expect(turn.getByTestId('ai-answer')).toContainText(FAKE_DEFAULT_ANSWER);
  await expect(turn.getByTestId('ai-answer-notice')).toContainText('must be reviewed by a clinician');
  await shot(page, 'ai-answer');

  // What Gemini received: a streamed request with one PNG at the viewer's window, no identifiers.
  const [sent] = await fakeRequests(page);
  expect(sent).toMatchObject({ method_: 'streamGenerateContent', query: { alt: 'sse' }, model: 'gemini-e2e-fake' });
  expect(sent!.raw).not.toContain('Aiversuch');
  expect(sent!.raw).not.toContain('Hildegard');
  expect(sent!.raw).not.toContain(PATIENT.id);
  const parts = (sent!.body as { contents: { parts: { inlineData?: { mimeType: string } }[] }[] }).contents.at(-1)!.parts;
  expect(parts.filter((p) => p.inlineData).map((p) => p.inlineData!.mimeType)).toEqual(['image/png']);

  // A follow-up continues the conversation (history sent), and is stored too.
  const second = await ask(page, 'And the soft tissue?');
  await expect(second).toHaveAttribute('data-state', 'done');
  const requests = await fakeRequests(page);
  expect((requests.at(-1)!.body as { contents: unknown[] }).contents).toHaveLength(3);
  expect(await answerCount(page)).toBeGreaterThanOrEqual(2);
  const violations = await page.evaluate(() => (window as unknown as { __cspViolations: string[] }).__cspViolations);
  // As in security.spec.ts: the one allowed report is a bundled feature probe trying eval.
  expect(violations.filter((v) => v !== 'script-src eval')).toEqual([]);
});

test('viewer: quota, bad key and blocked answers show a clear message and store nothing', async ({ page }) => {
  const viewer = new ViewerPage(page);
  await viewer.goto(studyId);
  await viewer.waitForImage();
  await page.getByTestId('ai-toggle').click();
  const before = await answerCount(page);
  const cases: [FakeScenario, RegExp][] = [
    ['quota', /quota/i],
    ['unauthorized', /credentials/i],
    ['blocked-safety', /declined to answer/i],
    ['blocked-prompt', /declined to answer/i],
  ];
  for (const [scenario, message] of cases) {
    await fake(page, scenario);
    const turn = await ask(page, `Scenario ${scenario}?`);
    await expect(turn).toHaveAttribute('data-state', 'failed');
    await expect(turn.getByTestId('ai-error')).toHaveText(message);
  }
  await shot(page, 'ai-errors');
  expect(await answerCount(page)).toBe(before);
});

test('study page: generate a report, edit it, sign it, export it as PDF and text', async ({ page }) => {
  await page.goto(`/studies/${studyId}`);
  await page.getByTestId('report-generate').click();
  const report = page.getByTestId('report').first();
  await expect(report).toHaveAttribute('data-status', 'draft', { timeout: 30_000 });
  await expect(report.getByTestId('report-notice')).toContainText('not a diagnosis');
  await expect(report.getByTestId('report-findings')).toHaveValue(FAKE_DEFAULT_REPORT.findings);
  await report.getByTestId('report-findings').fill('Edited in the browser: no fracture.');
  await report.getByTestId('report-save').click();
  await expect(report.getByRole('status')).toHaveText('Draft saved');
  page.once('dialog', (dialog) => void dialog.accept());
  await report.getByTestId('report-sign').click();
  await expect(page.getByTestId('report').first()).toHaveAttribute('data-status', 'final');
  const final = page.getByTestId('report').first();
  await expect(final.getByTestId('report-findings-text')).toHaveText('Edited in the browser: no fracture.');
  await expect(final).toContainText('signed by Ada Admin');
  await shot(page, 'report-signed');

  const reportId = (await final.getAttribute('data-report-id'))!;
  const pdf = await page.request.get(`/api/reports/${reportId}/export?format=pdf`);
  expect(pdf.headers()['content-type']).toBe('application/pdf');
  expect((await pdf.body()).subarray(0, 5).toString('latin1')).toBe('%PDF-');
  const txt = await (await page.request.get(`/api/reports/${reportId}/export?format=txt`)).text();
  expect(txt).toContain('Edited in the browser: no fracture.');
  expect(txt).toContain('Signed by Ada Admin');
  expect(txt).toContain('not a diagnosis');
  // The worklist now shows the study as reported.
  const study = (await (await page.request.get(`/api/studies/${studyId}`)).json()) as { study: { status: string } };
  expect(study.study.status).toBe('reported');
});

test('a server without GOOGLE_API_KEY says "not configured" in the viewer and answers 503', async ({ page }) => {
  test.setTimeout(120_000);
  const port = Number(new URL(test.info().project.use.baseURL!).port) + 2000;
  const env: Record<string, string> = { ...(process.env as Record<string, string>), ...(E2E_SERVER_ENV as Record<string, string>) };
  for (const key of ['GOOGLE_API_KEY', 'GEMINI_API_KEY', 'GEMINI_BASE_URL', 'GOOGLE_GENAI_USE_VERTEXAI']) delete env[key];
  const server: ChildProcess = spawn('npx', ['next', 'start', '-H', '127.0.0.1', '-p', String(port)], { env: env as NodeJS.ProcessEnv, stdio: 'ignore', detached: true });
  const base = `http://127.0.0.1:${port}`;
  try {
    await expect
      .poll(async () => (await page.request.get(`${base}/api/health`).catch(() => null))?.status() ?? 0, { timeout: 90_000, intervals: [500] })
      .toBe(200);
    // The session cookie (same host, same secret and database) signs us in there too.
    await page.goto(`${base}/studies/${studyId}/view`);
    await new ViewerPage(page).waitForImage();
    await expect(page.getByTestId('ai-toggle')).toHaveText('AI analysis (not configured)');
    await page.getByTestId('ai-toggle').click();
    await expect(page.getByTestId('ai-not-configured')).toContainText('not configured');
    await shot(page, 'ai-not-configured');
    const res = await page.request.post(`${base}/api/analyze`, { data: { studyId, question: 'Anything?' } });
    expect(res.status()).toBe(503);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('ai_not_configured');
    await page.goto(`${base}/studies/${studyId}`);
    await expect(page.getByTestId('report-generate')).toBeDisabled();
    await expect(page.getByTestId('report-ai-not-configured')).toBeVisible();
    expect(await fakeRequests(page)).toEqual([]);
  } finally {
    if (server.pid) process.kill(-server.pid, 'SIGTERM');
  }
});
