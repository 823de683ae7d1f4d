import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { and, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { GET as exportRoute } from '@/app/api/reports/[id]/export/route';
import { GET as reportRoute } from '@/app/api/reports/[id]/route';
import { GET as listRoute } from '@/app/api/studies/[id]/reports/route';
import { getDb } from '@/db';
import { analysisResults, auditLog, studies } from '@/db/schema';
import { resetEnvForTests } from '@/lib/env';
import { actorOfUser, createTestToken, createTestUser } from '@/lib/testing/fixtures';
import { ingestStudyFixture } from '@/lib/testing/ingest';
import { callRoute } from '@/lib/testing/route';
import { renderPdf } from './pdf';
import { AI_NOTICE } from './prompt';
import { exportReport, generateReport, getReport, listReports, parseReportAnswer, signReport, updateReport } from './reports';
import { FAKE_DEFAULT_REPORT, startFakeGemini, type FakeGemini } from './testing/fake-gemini';

let fake: FakeGemini;
let radiologist: Awaited<ReturnType<typeof createTestUser>>;
let clinician: Awaited<ReturnType<typeof createTestUser>>;
let viewer: Awaited<ReturnType<typeof createTestUser>>;
let study: Awaited<ReturnType<typeof ingestStudyFixture>>;
const tmp = mkdtempSync(path.join(os.tmpdir(), 'ai-reports-'));

beforeAll(async () => {
  fake = await startFakeGemini();
  process.env.GOOGLE_API_KEY = 'test-key';
  process.env.GEMINI_BASE_URL = fake.url;
  process.env.GEMINI_MODEL = 'gemini-test';
  resetEnvForTests();
  radiologist = await createTestUser('radiologist', { name: 'Dr Radia Logist' });
  clinician = await createTestUser('clinician');
  viewer = await createTestUser('viewer');
  study = await ingestStudyFixture('mr_small_explicit_le', { patientName: 'Report^Patient' });
});
afterAll(async () => {
  delete process.env.GOOGLE_API_KEY;
  delete process.env.GEMINI_BASE_URL;
  delete process.env.GEMINI_MODEL;
  resetEnvForTests();
  await fake.close();
});
beforeEach(() => fake.reset());

async function reportCount(studyId: string) {
  const rows = await (await getDb()).select().from(analysisResults).where(and(eq(analysisResults.studyId, studyId), eq(analysisResults.kind, 'report')));
  return rows.length;
}

/** The database's own message (drizzle wraps it as the cause). */
async function refusal(query: PromiseLike<unknown>): Promise<string> {
  try {
    await query;
  } catch (error) {
    return String((error as { cause?: Error }).cause?.message ?? (error as Error).message);
  }
  return 'no error';
}

function pdfText(pdf: Buffer): string {
  const file = path.join(tmp, `r-${Date.now()}-${Math.random()}.pdf`);
  writeFileSync(file, pdf);
  return execFileSync('pdftotext', ['-layout', file, '-'], { encoding: 'utf8' });
}

describe('model output', () => {
  it('accepts the three sections as JSON (fenced or not) and refuses anything else', () => {
    expect(parseReportAnswer(JSON.stringify(FAKE_DEFAULT_REPORT))).toEqual(FAKE_DEFAULT_REPORT);
    expect(parseReportAnswer('```json\n' + JSON.stringify(FAKE_DEFAULT_REPORT) + '\n```')).toEqual(FAKE_DEFAULT_REPORT);
    expect(() => parseReportAnswer('Findings: normal')).toThrow(expect.objectContaining({ code: 'ai_invalid_output', status: 502 }));
    expect(() => parseReportAnswer(JSON.stringify({ findings: 'x' }))).toThrow(expect.objectContaining({ code: 'ai_invalid_output' }));
    expect(() => parseReportAnswer(JSON.stringify({ ...FAKE_DEFAULT_REPORT, diagnosis: 'x' }))).toThrow(expect.objectContaining({ code: 'ai_invalid_output' }));
  });
});

describe('PDF writer', () => {
  it('writes a valid multi-page PDF that pdftotext reads back', () => {
    const long = Array.from({ length: 120 }, (_, i) => `Line ${i} of findings with (parentheses) and a backslash \\ and é.`).join('\n');
    const pdf = renderPdf([{ kind: 'title', text: 'Radiology report' }, { kind: 'paragraph', text: long }], { title: 'T' });
    expect(pdf.subarray(0, 8).toString('latin1')).toBe('%PDF-1.4');
    const info = execFileSync('pdfinfo', ['-'], { input: pdf, encoding: 'utf8' });
    expect(Number(/Pages:\s+(\d+)/.exec(info)?.[1])).toBeGreaterThan(1);
    const text = pdfText(pdf);
    expect(text).toContain('Radiology report');
    expect(text).toContain('Line 119 of findings with (parentheses) and a backslash \\ and é.');
  });
});

describe('reports: draft, edit, sign, immutable, export', () => {
  it('drafts a structured report from the study, stored as a draft with the notice', async () => {
    const report = await generateReport(actorOfUser(radiologist), study.studyId);
    expect(report).toMatchObject({ status: 'draft', ...FAKE_DEFAULT_REPORT, notice: AI_NOTICE, model: 'gemini-test', author: { name: 'Dr Radia Logist' }, signedBy: null });
    expect(report.imageRefs.length).toBeGreaterThan(0);
    expect(fake.requests).toHaveLength(1);
    const body = fake.requests[0]!.body as { generationConfig: { responseMimeType: string; responseJsonSchema: unknown } };
    expect(body.generationConfig.responseMimeType).toBe('application/json');
    expect(body.generationConfig.responseJsonSchema).toMatchObject({ required: ['technique', 'findings', 'impression'] });
    const [row] = await (await getDb()).select().from(analysisResults).where(eq(analysisResults.id, report.id));
    expect(row!.content).toMatchObject({ notice: AI_NOTICE, generated: FAKE_DEFAULT_REPORT });
    expect(row!.prompt).toContain('IMAGE_METADATA');
  });

  it('only radiologists and admins draft; invalid model output and refusals store nothing', async () => {
    await expect(generateReport(actorOfUser(clinician), study.studyId)).rejects.toMatchObject({ status: 403 });
    const before = await reportCount(study.studyId);
    fake.setScenario('bad-json');
    await expect(generateReport(actorOfUser(radiologist), study.studyId)).rejects.toMatchObject({ code: 'ai_invalid_output' });
    fake.setScenario('quota');
    await expect(generateReport(actorOfUser(radiologist), study.studyId)).rejects.toMatchObject({ code: 'ai_quota_exceeded' });
    fake.setScenario('blocked-prompt');
    await expect(generateReport(actorOfUser(radiologist), study.studyId)).rejects.toMatchObject({ code: 'ai_blocked' });
    expect(await reportCount(study.studyId)).toBe(before);
    const failures = await (await getDb()).select().from(auditLog).where(and(eq(auditLog.action, 'report.generate'), eq(auditLog.outcome, 'failure'), eq(auditLog.studyId, study.studyId)));
    expect(failures.map((f) => (f.details as { code?: string }).code)).toEqual(expect.arrayContaining(['ai_invalid_output', 'ai_quota_exceeded', 'ai_blocked']));
  });

  it('is edited as a draft, signed once (who, when), then refused any change, also by the database', async () => {
    const actor = actorOfUser(radiologist);
    const draft = await generateReport(actor, study.studyId);
    // Drafts are invisible to clinicians and viewers.
    await expect(getReport(actorOfUser(clinician), draft.id)).rejects.toMatchObject({ status: 404 });
    expect((await listReports(actorOfUser(viewer), study.studyId))!.some((r) => r.id === draft.id)).toBe(false);
    await expect(updateReport(actor, draft.id, { technique: '', findings: 'x', impression: 'y' })).rejects.toThrow();

    const edited = await updateReport(actor, draft.id, { technique: 'MR, one slice.', findings: 'Edited findings.', impression: 'Edited impression.' });
    expect(edited).toMatchObject({ status: 'draft', findings: 'Edited findings.' });
    await expect(signReport(actorOfUser(clinician), draft.id)).rejects.toMatchObject({ status: 403 });
    const signed = await signReport(actor, draft.id);
    expect(signed).toMatchObject({ status: 'final', findings: 'Edited findings.', signedBy: { id: radiologist.id, name: 'Dr Radia Logist' } });
    expect(signed.signedAt).toBeInstanceOf(Date);
    const [s] = await (await getDb()).select({ status: studies.status }).from(studies).where(eq(studies.id, study.studyId));
    expect(s!.status).toBe('reported');

    await expect(updateReport(actor, draft.id, { technique: 'a', findings: 'b', impression: 'c' })).rejects.toMatchObject({ status: 409 });
    await expect(signReport(actor, draft.id)).rejects.toMatchObject({ status: 409 });
    // The trigger refuses what the code would never do.
    const db = await getDb();
    expect(await refusal(db.update(analysisResults).set({ content: { findings: 'tampered' } }).where(eq(analysisResults.id, draft.id)))).toMatch(/cannot be changed/);
    expect(await refusal(db.execute(sql`update analysis_results set status = 'draft' where id = ${draft.id}`))).toMatch(/cannot be changed/);
    expect(await refusal(db.delete(analysisResults).where(eq(analysisResults.id, draft.id)))).toMatch(/cannot be deleted/);
    expect((await getReport(actorOfUser(clinician), draft.id)).findings).toBe('Edited findings.');

    // Final reports are listed for everyone.
    expect((await listReports(actorOfUser(viewer), study.studyId))!.find((r) => r.id === draft.id)?.status).toBe('final');
    const actions = (await db.select({ action: auditLog.action }).from(auditLog).where(eq(auditLog.resourceId, draft.id))).map((a) => a.action);
    expect(actions).toEqual(expect.arrayContaining(['report.update', 'report.sign', 'report.read']));
  });

  it('a final report needs who signed it and when (trigger)', async () => {
    const draft = await generateReport(actorOfUser(radiologist), study.studyId);
    const db = await getDb();
    expect(await refusal(db.execute(sql`update analysis_results set status = 'final' where id = ${draft.id}`))).toMatch(/signed_by and signed_at/);
  });

  it('exports as text and as PDF with the signature state and the AI notice; audited', async () => {
    const actor = actorOfUser(radiologist);
    const draft = await generateReport(actor, study.studyId);
    const draftText = (await exportReport(actor, draft.id, 'txt')).body.toString('utf8');
    expect(draftText).toContain('DRAFT');
    expect(draftText).toContain(AI_NOTICE);
    expect(draftText).toContain(FAKE_DEFAULT_REPORT.findings);

    await signReport(actor, draft.id, { technique: 'T.', findings: 'Final findings (signed).', impression: 'Final impression.' });
    const txt = await exportReport(actorOfUser(clinician), draft.id, 'txt');
    expect(txt.contentType).toMatch(/^text\/plain/);
    const text = txt.body.toString('utf8');
    expect(text).toMatch(/TECHNIQUE[\s\S]*FINDINGS[\s\S]*Final findings \(signed\)\.[\s\S]*IMPRESSION/);
    expect(text).toContain('Signed by Dr Radia Logist');
    expect(text).toContain('Report Patient');
    expect(text).toContain(AI_NOTICE);

    const pdf = await exportReport(actorOfUser(clinician), draft.id, 'pdf');
    expect(pdf.contentType).toBe('application/pdf');
    const fromPdf = pdfText(pdf.body).replace(/\s+/g, ' ');
    for (const expected of ['Radiology report', 'Technique', 'Findings', 'Final findings (signed).', 'Impression', 'Signed by Dr Radia Logist', 'not a diagnosis']) expect(fromPdf).toContain(expected);
    const exports = await (await getDb()).select().from(auditLog).where(and(eq(auditLog.action, 'report.export'), eq(auditLog.resourceId, draft.id)));
    expect(exports.length).toBe(3);
    expect(exports.every((e) => e.studyId === study.studyId && e.patientId)).toBe(true);
  });

  it('REST: list, read and export with the reports scope', async () => {
    const actor = actorOfUser(radiologist);
    const draft = await generateReport(actor, study.studyId);
    await signReport(actor, draft.id);
    const reader = await createTestToken('viewer', ['reports']);
    const noScope = await createTestToken('viewer', ['studies:read']);
    const list = await callRoute(listRoute, { url: `/api/studies/${study.studyId}/reports`, token: reader.secret, params: { id: study.studyId } });
    expect(list.status).toBe(200);
    expect(list.body.reports.every((r: { status: string }) => r.status === 'final')).toBe(true);
    expect(list.body.reports.find((r: { id: string }) => r.id === draft.id)).toMatchObject({ notice: AI_NOTICE, status: 'final' });
    const one = await callRoute(reportRoute, { url: `/api/reports/${draft.id}`, token: reader.secret, params: { id: draft.id } });
    expect(one.body.report).toMatchObject({ id: draft.id, status: 'final' });
    expect((await callRoute(reportRoute, { url: `/api/reports/${draft.id}`, token: noScope.secret, params: { id: draft.id } })).status).toBe(403);
    const res = await exportRoute(new Request(`http://app.test/api/reports/${draft.id}/export?format=pdf`, { headers: { authorization: `Bearer ${reader.secret}` } }), { params: Promise.resolve({ id: draft.id }) });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-disposition')).toMatch(/attachment; filename="report-.*\.pdf"/);
    expect(pdfText(Buffer.from(await res.arrayBuffer()))).toContain('Radiology report');
    const bad = await callRoute(exportRoute, { url: `/api/reports/${draft.id}/export?format=docx`, token: reader.secret, params: { id: draft.id } });
    expect(bad.status).toBe(400);
  });
});
