/**
 * The one place the server talks to Gemini, through Google's SDK (@google/genai). Which route it
 * takes (developer API with a key, or Vertex AI with project/location) and where it sends requests
 * (GEMINI_BASE_URL, e.g. a regional proxy or the tests' fake server) come from lib/env.ts.
 */
import { ApiError as SdkApiError, GoogleGenAI, type Content, type GenerateContentResponse } from '@google/genai';
import { OAuth2Client } from 'google-auth-library';
import { ApiError } from '@/lib/api/errors';
import { getEnv, type AiConfig } from '@/lib/env';

export interface AiStatus {
  configured: boolean;
  backend: AiConfig['backend'];
  model: string;
}

export function aiStatus(config: AiConfig = getEnv().ai): AiStatus {
  return { configured: config.backend !== 'none', backend: config.backend, model: config.model };
}

export function aiNotConfigured(): ApiError {
  return new ApiError(
    503,
    'ai_not_configured',
    'AI analysis is not configured on this server: set GOOGLE_API_KEY (Gemini developer API) or GOOGLE_GENAI_USE_VERTEXAI with GOOGLE_CLOUD_PROJECT (Vertex AI).',
  );
}

const clients = new WeakMap<AiConfig, GoogleGenAI>();

/** A client for the configured route; throws 503 ai_not_configured when there is none. */
export function geminiClient(config: AiConfig = getEnv().ai): GoogleGenAI {
  if (config.backend === 'none') throw aiNotConfigured();
  let client = clients.get(config);
  if (client) return client;
  const httpOptions = { timeout: config.timeoutMs, ...(config.baseUrl ? { baseUrl: config.baseUrl } : {}) };
  if (config.backend === 'developer') {
    client = new GoogleGenAI({ apiKey: config.apiKey, httpOptions });
  } else {
    // Without a fixed token the SDK finds Application Default Credentials (service account,
    // workload identity). A fixed token suits short-lived tokens minted by the platform, and tests.
    const googleAuthOptions = config.accessToken
      ? {
          authClient: (() => {
            const oauth = new OAuth2Client();
            oauth.setCredentials({ access_token: config.accessToken, expiry_date: Date.now() + 365 * 24 * 3600 * 1000 });
            return oauth;
          })(),
        }
      : undefined;
    // v1: the GA surface (the SDK's default is v1beta1).
    client = new GoogleGenAI({ vertexai: true, project: config.project, location: config.location, apiVersion: 'v1', httpOptions, ...(googleAuthOptions ? { googleAuthOptions } : {}) });
  }
  clients.set(config, client);
  return client;
}

/** Google's error body inside the SDK's message, when it is one. */
function googleStatusOf(error: SdkApiError): string | null {
  try {
    const parsed = JSON.parse(error.message) as { error?: { status?: unknown } };
    return typeof parsed.error?.status === 'string' ? parsed.error.status : null;
  } catch {
    return null;
  }
}

/**
 * Maps whatever the SDK or the network throws to an error the user can act on. The upstream
 * message is logged, not shown: it may echo request details.
 */
export function toAiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  if (error instanceof SdkApiError) {
    const status = error.status;
    const googleStatus = googleStatusOf(error);
    console.error('[ai] Gemini answered', status, googleStatus ?? error.message.slice(0, 300));
    if (status === 401 || status === 403 || googleStatus === 'UNAUTHENTICATED' || googleStatus === 'PERMISSION_DENIED') {
      return new ApiError(502, 'ai_auth_failed', 'The AI service refused the server\u2019s credentials (invalid or unauthorised API key or service account). An administrator must fix the AI configuration.');
    }
    if (status === 429 || googleStatus === 'RESOURCE_EXHAUSTED') {
      return new ApiError(429, 'ai_quota_exceeded', 'The AI service\u2019s quota is used up for now. Try again later.', { 'Retry-After': '60' });
    }
    if (status === 408 || status === 504 || googleStatus === 'DEADLINE_EXCEEDED') {
      return new ApiError(504, 'ai_timeout', 'The AI service did not answer in time. Try again.');
    }
    return new ApiError(502, 'ai_unavailable', `The AI service failed (HTTP ${status}). Try again later.`);
  }
  const name = (error as { name?: unknown })?.name;
  if (name === 'AbortError' || name === 'TimeoutError') return new ApiError(504, 'ai_timeout', 'The AI service did not answer in time. Try again.');
  console.error('[ai] Gemini request failed', error);
  return new ApiError(502, 'ai_unavailable', 'The AI service could not be reached. Try again later.');
}

/** A blocked prompt or a candidate stopped for safety: no answer to show or store. */
export function blockedReason(response: GenerateContentResponse): string | null {
  const block = response.promptFeedback?.blockReason;
  if (block) return `prompt blocked (${block})`;
  const finish = response.candidates?.[0]?.finishReason;
  if (finish && ['SAFETY', 'RECITATION', 'BLOCKLIST', 'PROHIBITED_CONTENT', 'SPII', 'IMAGE_SAFETY'].includes(finish)) return `answer stopped (${finish})`;
  return null;
}

export function blockedError(reason: string): ApiError {
  return new ApiError(422, 'ai_blocked', `The AI service declined to answer (${reason}). Rephrase the question or ask a colleague; nothing was saved.`, {}, { reason });
}

export interface ModelRequest {
  contents: Content[];
  systemInstruction: string;
  /** JSON output constrained by this schema (reports). */
  responseJsonSchema?: Record<string, unknown>;
  signal?: AbortSignal;
}

function requestOf(config: AiConfig, request: ModelRequest) {
  return {
    model: config.model,
    contents: request.contents,
    config: {
      systemInstruction: request.systemInstruction,
      temperature: 0.2,
      ...(request.responseJsonSchema ? { responseMimeType: 'application/json', responseJsonSchema: request.responseJsonSchema } : {}),
      abortSignal: request.signal ?? AbortSignal.timeout(config.timeoutMs),
    },
  };
}

/** One answer in one response (reports). */
export async function generateText(request: ModelRequest, config: AiConfig = getEnv().ai): Promise<{ text: string; model: string }> {
  const client = geminiClient(config);
  let response: GenerateContentResponse;
  try {
    response = await client.models.generateContent(requestOf(config, request));
  } catch (error) {
    throw toAiError(error);
  }
  const blocked = blockedReason(response);
  if (blocked) throw blockedError(blocked);
  const text = response.text ?? '';
  if (!text.trim()) throw new ApiError(502, 'ai_invalid_output', 'The AI service returned an empty answer. Try again.');
  return { text, model: response.modelVersion ?? config.model };
}

export interface AnswerStream {
  model: string;
  /** Text chunks; throws a mapped ApiError (blocked, timeout, …) mid-stream. */
  chunks: AsyncGenerator<string, void, void>;
}

/**
 * Starts a streamed answer and waits for its first chunk, so that refusals (bad key, quota,
 * blocked prompt) surface as an HTTP error before any answer has been sent.
 */
export async function streamText(request: ModelRequest, config: AiConfig = getEnv().ai): Promise<AnswerStream> {
  const client = geminiClient(config);
  let iterator: AsyncGenerator<GenerateContentResponse>;
  let first: IteratorResult<GenerateContentResponse>;
  try {
    iterator = await client.models.generateContentStream(requestOf(config, request));
    first = await iterator.next();
  } catch (error) {
    throw toAiError(error);
  }
  let model = config.model;
  const textOf = (chunk: GenerateContentResponse): string => {
    const blocked = blockedReason(chunk);
    if (blocked) throw blockedError(blocked);
    if (chunk.modelVersion) model = chunk.modelVersion;
    return chunk.text ?? '';
  };
  const head = first.done ? '' : textOf(first.value);
  async function* chunks(): AsyncGenerator<string, void, void> {
    if (head) yield head;
    if (first.done) return;
    while (true) {
      let next: IteratorResult<GenerateContentResponse>;
      try {
        next = await iterator.next();
      } catch (error) {
        throw toAiError(error);
      }
      if (next.done) return;
      const text = textOf(next.value);
      if (text) yield text;
    }
  }
  return {
    get model() {
      return model;
    },
    chunks: chunks(),
  };
}
