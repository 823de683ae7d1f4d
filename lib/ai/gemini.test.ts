import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ApiError } from '@/lib/api/errors';
import { EnvError, parseEnv, type AiConfig } from '@/lib/env';
import { aiStatus, generateText, geminiClient, streamText } from './gemini';
import { FAKE_DEFAULT_ANSWER, startFakeGemini, type FakeGemini } from './testing/fake-gemini';

let fake: FakeGemini;

beforeAll(async () => {
  fake = await startFakeGemini();
});
afterAll(async () => {
  await fake.close();
});
beforeEach(() => fake.reset());

const developer = (): AiConfig => parseEnv({ GOOGLE_API_KEY: 'test-key', GEMINI_BASE_URL: fake.url, GEMINI_MODEL: 'gemini-test', GEMINI_TIMEOUT_SECONDS: '1' }).ai;
const request = { contents: [{ role: 'user', parts: [{ text: 'What is shown?' }] }], systemInstruction: 'Be brief.' };

async function collect(stream: Awaited<ReturnType<typeof streamText>>) {
  let text = '';
  for await (const chunk of stream.chunks) text += chunk;
  return text;
}

async function failure(promise: Promise<unknown>): Promise<ApiError> {
  try {
    await promise;
  } catch (error) {
    return error as ApiError;
  }
  throw new Error('expected a failure');
}

describe('configuration (lib/env.ts)', () => {
  it('is off without a key or Vertex, developer API with a key, Vertex with a project', () => {
    expect(parseEnv({}).ai.backend).toBe('none');
    expect(parseEnv({ GOOGLE_API_KEY: '', GEMINI_BASE_URL: '' }).ai.backend).toBe('none');
    expect(aiStatus(parseEnv({}).ai).configured).toBe(false);
    expect(parseEnv({ GOOGLE_API_KEY: 'k' }).ai).toMatchObject({ backend: 'developer', apiKey: 'k', model: 'gemini-2.5-flash', timeoutMs: 60_000 });
    expect(parseEnv({ GOOGLE_GENAI_USE_VERTEXAI: 'true', GOOGLE_CLOUD_PROJECT: 'my-project', GOOGLE_CLOUD_LOCATION: 'europe-west4' }).ai).toMatchObject({
      backend: 'vertex',
      project: 'my-project',
      location: 'europe-west4',
    });
  });

  it('refuses a bad base URL, a bad model name and Vertex without a project', () => {
    const problems = (env: Record<string, string>) => {
      try {
        parseEnv(env);
        return [];
      } catch (error) {
        return (error as EnvError).problems;
      }
    };
    expect(problems({ GEMINI_BASE_URL: 'file:///etc/passwd' })[0]).toMatch(/^GEMINI_BASE_URL/);
    expect(problems({ GEMINI_MODEL: 'bad model/../x' })[0]).toMatch(/^GEMINI_MODEL/);
    expect(problems({ GOOGLE_GENAI_USE_VERTEXAI: 'true' })[0]).toMatch(/^GOOGLE_CLOUD_PROJECT/);
  });

  it('answers 503 ai_not_configured instead of a client when nothing is configured', () => {
    expect(() => geminiClient(parseEnv({}).ai)).toThrow(expect.objectContaining({ status: 503, code: 'ai_not_configured' }));
  });
});

describe('developer API through the SDK against the fake server', () => {
  it('sends generateContent to /v1beta/models/M:generateContent with the key header', async () => {
    const { text, model } = await generateText(request, developer());
    expect(text).toBe(FAKE_DEFAULT_ANSWER);
    expect(model).toBe('gemini-test');
    expect(fake.requests).toHaveLength(1);
    const sent = fake.requests[0]!;
    expect(sent.path).toBe('/v1beta/models/gemini-test:generateContent');
    expect(sent.backend).toBe('developer');
    expect(sent.headers['x-goog-api-key']).toBe('test-key');
    expect(sent.body).toMatchObject({ contents: request.contents, systemInstruction: { parts: [{ text: 'Be brief.' }] } });
  });

  it('streams with streamGenerateContent?alt=sse, in several chunks', async () => {
    const stream = await streamText(request, developer());
    const chunks: string[] = [];
    for await (const chunk of stream.chunks) chunks.push(chunk);
    expect(chunks.length).toBeGreaterThan(1);
    expect(chunks.join('')).toBe(FAKE_DEFAULT_ANSWER);
    expect(fake.requests[0]).toMatchObject({ path: '/v1beta/models/gemini-test:streamGenerateContent', query: { alt: 'sse' } });
  });

  it('maps a bad key (401) and a refused key (403) to ai_auth_failed', async () => {
    fake.setScenario('unauthorized');
    expect(await failure(streamText(request, developer()))).toMatchObject({ status: 502, code: 'ai_auth_failed' });
    fake.setScenario('forbidden');
    expect(await failure(generateText(request, developer()))).toMatchObject({ status: 502, code: 'ai_auth_failed' });
  });

  it('maps quota (429) to ai_quota_exceeded with Retry-After', async () => {
    fake.setScenario('quota');
    const error = await failure(streamText(request, developer()));
    expect(error).toMatchObject({ status: 429, code: 'ai_quota_exceeded' });
    expect(error.headers['Retry-After']).toBe('60');
  });

  it('gives up after the configured timeout with ai_timeout', async () => {
    fake.setScenario('slow');
    expect(await failure(streamText(request, developer()))).toMatchObject({ status: 504, code: 'ai_timeout' });
    expect(await failure(generateText(request, developer()))).toMatchObject({ status: 504, code: 'ai_timeout' });
  });

  it('treats promptFeedback.blockReason as blocked before any text', async () => {
    fake.setScenario('blocked-prompt');
    expect(await failure(streamText(request, developer()))).toMatchObject({ status: 422, code: 'ai_blocked' });
    expect(await failure(generateText(request, developer()))).toMatchObject({ status: 422, code: 'ai_blocked' });
  });

  it('treats finishReason SAFETY as blocked, even after a first chunk', async () => {
    fake.setScenario('blocked-safety');
    const stream = await streamText(request, developer());
    expect(await failure(collect(stream))).toMatchObject({ status: 422, code: 'ai_blocked' });
    expect(await failure(generateText(request, developer()))).toMatchObject({ code: 'ai_blocked' });
  });
});

describe('Vertex AI through the SDK against the fake server', () => {
  it('sends requests to /v1/projects/P/locations/L/publishers/google/models/M with a bearer token', async () => {
    const config = parseEnv({
      GOOGLE_GENAI_USE_VERTEXAI: 'true',
      GOOGLE_CLOUD_PROJECT: 'baa-project',
      GOOGLE_CLOUD_LOCATION: 'europe-west4',
      GOOGLE_VERTEX_ACCESS_TOKEN: 'ya29.test-token',
      GEMINI_BASE_URL: fake.url,
      GEMINI_MODEL: 'gemini-test',
      // The developer key must not leak into Vertex requests.
      GOOGLE_API_KEY: 'developer-key',
    }).ai;
    expect(config.backend).toBe('vertex');
    const { text } = await generateText(request, config);
    expect(text).toBe(FAKE_DEFAULT_ANSWER);
    const stream = await streamText(request, config);
    expect(await collect(stream)).toBe(FAKE_DEFAULT_ANSWER);
    expect(fake.requests.map((r) => r.path)).toEqual([
      '/v1/projects/baa-project/locations/europe-west4/publishers/google/models/gemini-test:generateContent',
      '/v1/projects/baa-project/locations/europe-west4/publishers/google/models/gemini-test:streamGenerateContent',
    ]);
    for (const sent of fake.requests) {
      expect(sent.backend).toBe('vertex');
      expect(sent.headers.authorization).toBe('Bearer ya29.test-token');
      expect(sent.headers['x-goog-api-key']).toBeUndefined();
    }
  });
});
