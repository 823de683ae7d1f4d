/**
 * A stand-in for Google's Gemini endpoints on 127.0.0.1, for tests only. It speaks the wire format
 * of the developer API (`/v1beta/models/M:generateContent`, `:streamGenerateContent?alt=sse`) and of
 * Vertex AI (`/v1/projects/P/locations/L/publishers/google/models/M:…`), answers like the real
 * service (JSON bodies, SSE chunks, Google's error shape), and records every request so tests can
 * inspect exactly what left the server. Dependency-free so Playwright's global setup can load it.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type FakeScenario =
  | 'ok'
  /** 401 UNAUTHENTICATED, as for an invalid API key. */
  | 'unauthorized'
  /** 403 PERMISSION_DENIED. */
  | 'forbidden'
  /** 429 RESOURCE_EXHAUSTED (quota). */
  | 'quota'
  /** 200 with promptFeedback.blockReason and no candidates. */
  | 'blocked-prompt'
  /** 200 with a candidate whose finishReason is SAFETY. */
  | 'blocked-safety'
  /** Never answers within any sensible timeout. */
  | 'slow'
  /** The report answer is not the JSON asked for. */
  | 'bad-json';

export interface RecordedRequest {
  method: string;
  /** Path without the query. */
  path: string;
  query: Record<string, string>;
  headers: Record<string, string | string[] | undefined>;
  /** The raw body as received. */
  raw: string;
  /** The body parsed as JSON (null when it is not JSON). */
  body: unknown;
  /** `generateContent` or `streamGenerateContent`. */
  method_: string | null;
  backend: 'developer' | 'vertex' | null;
  model: string | null;
}

export interface FakeGemini {
  url: string;
  port: number;
  requests: RecordedRequest[];
  setScenario(scenario: FakeScenario): void;
  setAnswer(text: string): void;
  setReport(report: Record<string, unknown>): void;
  reset(): void;
  close(): Promise<void>;
}

export const FAKE_DEFAULT_ANSWER =
  'The image shows an axial slice with no obvious acute abnormality in the visible field. Soft tissue and bony structures appear within normal limits for this window.';

export const FAKE_DEFAULT_REPORT = {
  technique: 'Axial images reviewed at the displayed window.',
  findings: 'No focal abnormality is seen on the provided images.',
  impression: 'No acute findings on the images provided.',
};

const MODEL_PATH = /^\/(v1beta1|v1beta|v1|v1alpha)\/(?:projects\/([^/]+)\/locations\/([^/]+)\/publishers\/google\/)?models\/([^/:]+):(generateContent|streamGenerateContent)$/;

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=UTF-8', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

function googleError(res: ServerResponse, code: number, status: string, message: string): void {
  sendJson(res, code, { error: { code, message, status } });
}

function candidate(text: string, finishReason: string | null) {
  return {
    content: { role: 'model', parts: [{ text }] },
    ...(finishReason ? { finishReason } : {}),
    index: 0,
  };
}

function usage(promptTokens: number, outputTokens: number) {
  return { promptTokenCount: promptTokens, candidatesTokenCount: outputTokens, totalTokenCount: promptTokens + outputTokens };
}

/** Splits an answer into a few chunks at word boundaries, as the streaming API does. */
function chunksOf(text: string, parts = 3): string[] {
  const words = text.split(/(?<= )/);
  const size = Math.max(1, Math.ceil(words.length / parts));
  const out: string[] = [];
  for (let i = 0; i < words.length; i += size) out.push(words.slice(i, i + size).join(''));
  return out.length > 0 ? out : [''];
}

export async function startFakeGemini(options: { port?: number } = {}): Promise<FakeGemini> {
  let scenario: FakeScenario = 'ok';
  let answer = FAKE_DEFAULT_ANSWER;
  let report: Record<string, unknown> = FAKE_DEFAULT_REPORT;
  const requests: RecordedRequest[] = [];
  const hanging = new Set<ServerResponse>();

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const raw = await readBody(req);

    // Control endpoints for tests that run the app in another process (Playwright).
    if (url.pathname.startsWith('/__fake/')) {
      if (url.pathname === '/__fake/requests') return sendJson(res, 200, { requests });
      if (url.pathname === '/__fake/reset') {
        requests.length = 0;
        scenario = 'ok';
        answer = FAKE_DEFAULT_ANSWER;
        report = FAKE_DEFAULT_REPORT;
        return sendJson(res, 200, { ok: true });
      }
      if (url.pathname === '/__fake/scenario') {
        const body = JSON.parse(raw || '{}') as { scenario?: FakeScenario; answer?: string; report?: Record<string, unknown> };
        if (body.scenario) scenario = body.scenario;
        if (body.answer) answer = body.answer;
        if (body.report) report = body.report;
        return sendJson(res, 200, { scenario });
      }
      return googleError(res, 404, 'NOT_FOUND', 'unknown control endpoint');
    }

    let body: unknown = null;
    try {
      body = raw ? JSON.parse(raw) : null;
    } catch {
      body = null;
    }
    const match = MODEL_PATH.exec(url.pathname);
    requests.push({
      method: req.method ?? 'GET',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: { ...req.headers },
      raw,
      body,
      method_: match?.[5] ?? null,
      backend: match ? (match[2] ? 'vertex' : 'developer') : null,
      model: match?.[4] ?? null,
    });
    if (req.method !== 'POST' || !match) return googleError(res, 404, 'NOT_FOUND', `Method not found: ${url.pathname}`);
    if (!body || typeof body !== 'object' || !Array.isArray((body as { contents?: unknown }).contents)) {
      return googleError(res, 400, 'INVALID_ARGUMENT', 'Invalid JSON payload received. contents is required.');
    }
    const authed = req.headers['x-goog-api-key'] || (typeof req.headers.authorization === 'string' && /^Bearer \S+/.test(req.headers.authorization));
    if (!authed) return googleError(res, 401, 'UNAUTHENTICATED', 'Request is missing required authentication credential.');

    switch (scenario) {
      case 'unauthorized':
        return googleError(res, 401, 'UNAUTHENTICATED', 'API key not valid. Please pass a valid API key.');
      case 'forbidden':
        return googleError(res, 403, 'PERMISSION_DENIED', 'Permission denied: Consumer has been suspended.');
      case 'quota':
        return googleError(res, 429, 'RESOURCE_EXHAUSTED', 'You exceeded your current quota, please check your plan and billing details.');
      case 'slow':
        hanging.add(res);
        res.on('close', () => hanging.delete(res));
        return;
      default:
        break;
    }

    const wantsJson = (body as { generationConfig?: { responseMimeType?: string } }).generationConfig?.responseMimeType === 'application/json';
    const text = wantsJson ? (scenario === 'bad-json' ? 'Here is your report: findings normal.' : JSON.stringify(report)) : answer;
    const modelVersion = match[4];
    const responses: unknown[] =
      scenario === 'blocked-prompt'
        ? [{ promptFeedback: { blockReason: 'SAFETY', safetyRatings: [{ category: 'HARM_CATEGORY_DANGEROUS_CONTENT', probability: 'HIGH' }] }, usageMetadata: usage(100, 0), modelVersion }]
        : scenario === 'blocked-safety'
          ? [
              { candidates: [candidate('The image', null)], usageMetadata: usage(100, 2), modelVersion },
              { candidates: [{ finishReason: 'SAFETY', index: 0, safetyRatings: [{ category: 'HARM_CATEGORY_DANGEROUS_CONTENT', probability: 'HIGH', blocked: true }] }], usageMetadata: usage(100, 2), modelVersion },
            ]
          : chunksOf(text).map((part, i, all) => ({
              candidates: [candidate(part, i === all.length - 1 ? 'STOP' : null)],
              usageMetadata: usage(100, Math.ceil(part.length / 4)),
              modelVersion,
            }));

    if (match[5] === 'streamGenerateContent') {
      if (url.searchParams.get('alt') !== 'sse') {
        // Without alt=sse the real service answers one JSON array; the SDK always asks for SSE.
        return sendJson(res, 200, responses);
      }
      res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });
      for (const chunk of responses) {
        res.write(`data: ${JSON.stringify(chunk)}\r\n\r\n`);
        await new Promise((r) => setTimeout(r, 15));
      }
      res.end();
      return;
    }
    // Unary: the whole answer in one response (for blocked-safety, the final state).
    if (scenario === 'blocked-prompt' || scenario === 'blocked-safety') return sendJson(res, 200, responses[responses.length - 1]);
    return sendJson(res, 200, { candidates: [candidate(text, 'STOP')], usageMetadata: usage(100, Math.ceil(text.length / 4)), modelVersion });
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) googleError(res, 500, 'INTERNAL', String(error));
      else res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    setScenario: (s) => {
      scenario = s;
    },
    setAnswer: (t) => {
      answer = t;
    },
    setReport: (r) => {
      report = r;
    },
    reset: () => {
      requests.length = 0;
      scenario = 'ok';
      answer = FAKE_DEFAULT_ANSWER;
      report = FAKE_DEFAULT_REPORT;
    },
    close: async () => {
      for (const res of hanging) res.destroy();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}
