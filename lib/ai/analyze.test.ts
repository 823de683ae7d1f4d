import { createHash } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { POST as analyzeRoute } from '@/app/api/analyze/route';
import { getDb } from '@/db';
import { analysisResults, auditLog, studies } from '@/db/schema';
import { resetEnvForTests } from '@/lib/env';
import { createTestToken } from '@/lib/testing/fixtures';
import { niftiCorpus } from '@/lib/testing/corpus';
import { ingestForTest, ingestStudyFixture } from '@/lib/testing/ingest';
import { callRoute } from '@/lib/testing/route';
import { AI_NOTICE } from './prompt';
import { FAKE_DEFAULT_ANSWER, startFakeGemini, type FakeGemini } from './testing/fake-gemini';

let fake: FakeGemini;
let clinician: { secret: string; id: string };
let viewer: { secret: string; id: string };
let noAiScope: { secret: string; id: string };
let study: Awaited<ReturnType<typeof ingestStudyFixture>>;

function configure(env: Record<string, string | undefined>) {
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  resetEnvForTests();
}

beforeAll(async () => {
  fake = await startFakeGemini();
  configure({ GOOGLE_API_KEY: 'test-key', GEMINI_BASE_URL: fake.url, GEMINI_MODEL: 'gemini-test', GEMINI_TIMEOUT_SECONDS: '2' });
  clinician = await createTestToken('clinician');
  viewer = await createTestToken('viewer');
  noAiScope = await createTestToken('clinician', ['studies:read']);
  study = await ingestStudyFixture('ct_small_explicit_le');
});
afterAll(async () => {
  configure({ GOOGLE_API_KEY: undefined, GEMINI_BASE_URL: undefined, GEMINI_MODEL: undefined, GEMINI_TIMEOUT_SECONDS: undefined });
  await fake.close();
});
beforeEach(() => fake.reset());

const ask = (body: Record<string, unknown>, token = clinician.secret) => callRoute(analyzeRoute, { url: '/api/analyze', method: 'POST', token, body });

async function answersOf(studyId: string) {
  return (await getDb()).select().from(analysisResults).where(and(eq(analysisResults.studyId, studyId), eq(analysisResults.kind, 'ai_answer')));
}

describe('POST /api/analyze', () => {
  it('answers a question about the rendered image and stores the turn with model, prompt, images and timing', async () => {
    const res = await ask({ studyId: study.studyId, question: 'Is there any free air?', window: { center: 40, width: 400 } });
    expect(res.status).toBe(200);
    const { analysis } = res.body;
    expect(analysis).toMatchObject({ studyId: study.studyId, question: 'Is there any free air?', answer: FAKE_DEFAULT_ANSWER, notice: AI_NOTICE, model: 'gemini-test', turn: 1 });
    expect(analysis.conversationId).toBe(analysis.id);
    expect(analysis.imageRefs).toHaveLength(1);
    expect(analysis.imageRefs[0]).toMatchObject({ role: 'current', instanceId: study.instanceId, mimeType: 'image/png', window: { center: 40, width: 400 } });

    // What Gemini got: one PNG (not the DICOM file), the allow-listed metadata, the question.
    expect(fake.requests).toHaveLength(1);
    const sent = fake.requests[0]!.body as { contents: { role: string; parts: { text?: string; inlineData?: { mimeType: string; data: string } }[] }[] };
    const parts = sent.contents.at(-1)!.parts;
    const images = parts.filter((p) => p.inlineData);
    expect(images).toHaveLength(1);
    const png = Buffer.from(images[0]!.inlineData!.data, 'base64');
    expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    expect(png.includes(Buffer.from('DICM'))).toBe(false);
    expect(createHash('sha256').update(png).digest('hex')).toBe(analysis.imageRefs[0].sha256);
    expect(parts.map((p) => p.text ?? '').join('\n')).toContain('"modality":"CT"');

    const stored = (await answersOf(study.studyId)).find((r) => r.id === analysis.id)!;
    expect(stored).toMatchObject({ kind: 'ai_answer', status: 'final', model: 'gemini-test', instanceId: study.instanceId });
    expect(stored.prompt).toContain('Question: Is there any free air?');
    expect(stored.prompt).toContain('IMAGE_METADATA');
    expect(stored.durationMs).toBeGreaterThanOrEqual(0);
    expect((stored.imageRefs as { sha256: string }[])[0]!.sha256).toBe(analysis.imageRefs[0].sha256);

    const [s] = await (await getDb()).select({ status: studies.status }).from(studies).where(eq(studies.id, study.studyId));
    expect(s!.status).toBe('analysed');
    const audit = await (await getDb()).select().from(auditLog).where(and(eq(auditLog.action, 'ai.question'), eq(auditLog.studyId, study.studyId), eq(auditLog.outcome, 'success')));
    expect(audit.length).toBeGreaterThan(0);
    expect(audit[0]!.patientId).toBeTruthy();
  });

  it('streams NDJSON events (start, deltas, done) and continues a conversation with its history', async () => {
    const first = await ask({ studyId: study.studyId, question: 'Describe the image.' });
    const res = await analyzeRoute(
      new Request('http://app.test/api/analyze', {
        method: 'POST',
        headers: { authorization: `Bearer ${clinician.secret}`, 'content-type': 'application/json' },
        body: JSON.stringify({ studyId: study.studyId, question: 'And the bones?', conversationId: first.body.analysis.id, stream: true, neighbours: 1 }),
      }),
      { params: Promise.resolve({}) },
    );
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/application\/x-ndjson/);
    const events = (await res.text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(events[0]).toMatchObject({ type: 'start', notice: AI_NOTICE, conversationId: first.body.analysis.id });
    const deltas = events.filter((e) => e.type === 'delta');
    expect(deltas.length).toBeGreaterThan(1);
    expect(deltas.map((d) => d.text).join('')).toBe(FAKE_DEFAULT_ANSWER);
    const done = events.at(-1);
    expect(done).toMatchObject({ type: 'done', analysis: { conversationId: first.body.analysis.id, turn: 2, answer: FAKE_DEFAULT_ANSWER, notice: AI_NOTICE } });
    // The second request carried the first turn as history.
    const sent = fake.requests.at(-1)!;
    expect(sent.method_).toBe('streamGenerateContent');
    const contents = (sent.body as { contents: { role: string; parts: { text?: string }[] }[] }).contents;
    expect(contents.map((c) => c.role)).toEqual(['user', 'model', 'user']);
    expect(contents[0]!.parts[0]!.text).toBe('Question: Describe the image.');
    expect(contents[1]!.parts[0]!.text).toBe(FAKE_DEFAULT_ANSWER);
  });

  it('a NIfTI volume: the axial slice on screen and its neighbours, as rendered PNGs', async () => {
    const entry = niftiCorpus().find((e) => e.id === 'nii_anatomical_int16_be')!;
    const item = (await ingestForTest(entry.path, { patientName: 'Volume^Patient', patientId: 'NIFTI-AI-1', modality: 'MR' })).items[0]!;
    const res = await ask({ studyId: item.studyId, question: 'Describe this slice.', slice: 5, neighbours: 1 });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.analysis.imageRefs.map((r: { slice: number; role: string }) => [r.role, r.slice])).toEqual([
      ['current', 5],
      ['neighbour', 4],
      ['neighbour', 6],
    ]);
    const parts = (fake.requests[0]!.body as { contents: { parts: { text?: string; inlineData?: { data: string } }[] }[] }).contents.at(-1)!.parts;
    const pngs = parts.filter((p) => p.inlineData).map((p) => Buffer.from(p.inlineData!.data, 'base64'));
    expect(pngs).toHaveLength(3);
    // Three different slices, not one image three times.
    expect(new Set(pngs.map((p) => createHash('sha256').update(p).digest('hex'))).size).toBe(3);
    expect(parts.map((p) => p.text ?? '').join('\n')).toContain('neighbouring slice -1');
    expect(JSON.stringify(fake.requests[0]!.body)).not.toContain('NIFTI-AI-1');
  });

  it('refuses viewers, tokens without the ai scope, bad bodies and unknown studies', async () => {
    expect((await ask({ studyId: study.studyId, question: 'x' }, viewer.secret)).status).toBe(403);
    expect((await ask({ studyId: study.studyId, question: 'x' }, noAiScope.secret)).status).toBe(403);
    const bad = await ask({ studyId: study.studyId, question: '' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('validation_error');
    expect((await ask({ studyId: study.studyId, question: 'x', neighbours: 9 })).status).toBe(400);
    expect((await ask({ studyId: study.studyId, question: 'x', extra: true })).status).toBe(400);
    expect((await ask({ studyId: '00000000-0000-4000-8000-000000000000', question: 'x' })).status).toBe(404);
    expect((await ask({ studyId: study.studyId, question: 'x', conversationId: '00000000-0000-4000-8000-000000000000' })).status).toBe(404);
    expect(fake.requests).toHaveLength(0);
  });

  it.each([
    ['unauthorized', 502, 'ai_auth_failed'],
    ['forbidden', 502, 'ai_auth_failed'],
    ['quota', 429, 'ai_quota_exceeded'],
    ['slow', 504, 'ai_timeout'],
    ['blocked-prompt', 422, 'ai_blocked'],
  ] as const)('%s: answers %i %s with a message and stores nothing', async (scenario, status, code) => {
    const before = (await answersOf(study.studyId)).length;
    fake.setScenario(scenario);
    const res = await ask({ studyId: study.studyId, question: 'Anything abnormal?' });
    expect(res.status).toBe(status);
    expect(res.body.error.code).toBe(code);
    expect(res.body.error.message.length).toBeGreaterThan(20);
    expect((await answersOf(study.studyId)).length).toBe(before);
    const failures = await (await getDb()).select().from(auditLog).where(and(eq(auditLog.action, 'ai.question'), eq(auditLog.outcome, 'failure'), eq(auditLog.studyId, study.studyId)));
    expect(failures.some((f) => (f.details as { code?: string }).code === code)).toBe(true);
  });

  it('a stream stopped for SAFETY ends with an error event and stores nothing', async () => {
    const before = (await answersOf(study.studyId)).length;
    fake.setScenario('blocked-safety');
    const res = await analyzeRoute(
      new Request('http://app.test/api/analyze', {
        method: 'POST',
        headers: { authorization: `Bearer ${clinician.secret}`, 'content-type': 'application/json' },
        body: JSON.stringify({ studyId: study.studyId, question: 'Anything abnormal?', stream: true }),
      }),
      { params: Promise.resolve({}) },
    );
    const events = (await res.text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(events.at(-1)).toMatchObject({ type: 'error', error: { code: 'ai_blocked' } });
    expect(events.some((e) => e.type === 'done')).toBe(false);
    expect((await answersOf(study.studyId)).length).toBe(before);
    // Without streaming the same answer is a 422.
    const plain = await ask({ studyId: study.studyId, question: 'Anything abnormal?' });
    expect(plain.status).toBe(422);
    expect((await answersOf(study.studyId)).length).toBe(before);
  });

  it('without GOOGLE_API_KEY or Vertex answers 503 ai_not_configured and calls nobody', async () => {
    configure({ GOOGLE_API_KEY: undefined });
    try {
      const res = await ask({ studyId: study.studyId, question: 'Anything?' });
      expect(res.status).toBe(503);
      expect(res.body.error.code).toBe('ai_not_configured');
      expect(res.body.error.message).toMatch(/GOOGLE_API_KEY/);
      expect(fake.requests).toHaveLength(0);
    } finally {
      configure({ GOOGLE_API_KEY: 'test-key' });
    }
  });
});
