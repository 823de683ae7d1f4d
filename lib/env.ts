import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';

// Secrets that appear in docs, examples or tutorials; accepting them in production would make
// every session forgeable by anyone who read the same page.
const KNOWN_DEFAULT_SECRETS = new Set([
  'secret',
  'changeme',
  'change-me',
  'development',
  'your-secret-here',
  'replace-me',
  'insecure-dev-secret-do-not-use-in-production',
]);

/** An empty variable (KEY= in a compose file) is the same as an unset one. */
const optional = <T extends z.ZodType>(schema: T) => z.preprocess((v) => (v === '' ? undefined : v), schema.optional());

const intFromEnv = (fallback: number, min: number, max: number) =>
  z.coerce.number().int().min(min).max(max).default(fallback);

const schema = z
  .object({
    NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
    DATABASE_URL: z
      .string()
      .trim()
      .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
      .optional(),
    // The owner role that runs migrations, when the app itself connects as a role that owns nothing.
    DATABASE_MIGRATION_URL: z
      .string()
      .trim()
      .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
      .optional(),
    DATA_DIR: z.string().trim().min(1).default('./data'),
    AUTH_SECRET: z.string().optional(),
    SESSION_SECRET: z.string().optional(),
    SESSION_MAX_AGE_SECONDS: intFromEnv(8 * 60 * 60, 60, 30 * 24 * 60 * 60),
    SESSION_IDLE_SECONDS: intFromEnv(30 * 60, 60, 30 * 24 * 60 * 60),
    LOGIN_MAX_FAILURES_PER_ACCOUNT: intFromEnv(5, 1, 1000),
    LOGIN_MAX_FAILURES_PER_ADDRESS: intFromEnv(20, 1, 10000),
    LOGIN_LOCKOUT_SECONDS: intFromEnv(15 * 60, 1, 24 * 60 * 60),
    UPLOAD_MAX_BYTES: intFromEnv(1024 ** 3, 1, 64 * 1024 ** 3),
    UPLOAD_MAX_INFLATED_BYTES: intFromEnv(2 * 1024 ** 3, 1, 256 * 1024 ** 3),
    UPLOAD_MAX_ARCHIVE_ENTRIES: intFromEnv(20_000, 1, 1_000_000),
    UPLOAD_EXPIRATION_HOURS: intFromEnv(24, 1, 24 * 365),
    // Uploaded files are parsed on worker threads with these limits; 0 workers parses in the
    // request thread (no memory or time limit: only for debugging).
    INGEST_WORKERS: intFromEnv(Math.min(2, os.availableParallelism()), 0, 64),
    INGEST_WORKER_MEMORY_MB: intFromEnv(256, 16, 16 * 1024),
    INGEST_PARSE_TIMEOUT_MS: intFromEnv(30_000, 1, 60 * 60 * 1000),
    TOTALSEGMENTATOR_PATH: z.string().trim().min(1).optional(),
    TOTALSEGMENTATOR_URL: z
      .string()
      .trim()
      .regex(/^https?:\/\/[^\s]+$/, 'must be an http:// or https:// URL')
      .optional(),
    TOTALSEGMENTATOR_TOKEN: z.string().trim().min(1).optional(),
    TOTALSEGMENTATOR_DEVICE: z
      .string()
      .trim()
      .regex(/^(gpu|cpu|mps|gpu:\d+)$/, "must be 'gpu', 'cpu', 'mps' or 'gpu:N'")
      .optional(),
    SEGMENTATION_TIMEOUT_SECONDS: intFromEnv(300, 1, 24 * 60 * 60),
    SEGMENTATION_MAX_VOXELS: intFromEnv(2 ** 27, 1, 2 ** 31 - 1),
    // 0 renders in the request thread (no workers).
    IMAGE_WORKERS: intFromEnv(os.availableParallelism(), 0, 256),
    GOOGLE_API_KEY: optional(z.string().trim().min(1)),
    GEMINI_API_KEY: optional(z.string().trim().min(1)),
    GEMINI_BASE_URL: optional(
      z
        .string()
        .trim()
        .regex(/^https?:\/\/[^\s]+$/, 'must be an http:// or https:// URL'),
    ),
    GEMINI_MODEL: z
      .string()
      .trim()
      .regex(/^[a-zA-Z0-9._-]{1,80}$/, 'must be a model name such as gemini-2.5-flash')
      .default('gemini-2.5-flash'),
    GEMINI_TIMEOUT_SECONDS: intFromEnv(60, 1, 600),
    GOOGLE_GENAI_USE_VERTEXAI: z
      .enum(['true', 'false', '1', '0', ''])
      .default('')
      .transform((v) => v === 'true' || v === '1'),
    GOOGLE_CLOUD_PROJECT: optional(
      z
        .string()
        .trim()
        .regex(/^[a-z][a-z0-9-]{4,61}[a-z0-9]$/, 'must be a Google Cloud project id'),
    ),
    GOOGLE_CLOUD_LOCATION: optional(
      z
        .string()
        .trim()
        .regex(/^[a-z0-9-]{2,40}$/, 'must be a Google Cloud location such as europe-west4'),
    ),
    GOOGLE_VERTEX_ACCESS_TOKEN: optional(z.string().trim().min(1)),
  })
  .superRefine((raw, ctx) => {
    if (raw.GOOGLE_GENAI_USE_VERTEXAI && !raw.GOOGLE_CLOUD_PROJECT) {
      ctx.addIssue({ code: 'custom', path: ['GOOGLE_CLOUD_PROJECT'], message: 'is required when GOOGLE_GENAI_USE_VERTEXAI is true' });
    }
  })
  .transform((raw) => {
    const secret = raw.AUTH_SECRET || raw.SESSION_SECRET || undefined;
    return {
      nodeEnv: raw.NODE_ENV,
      isProduction: raw.NODE_ENV === 'production',
      databaseUrl: raw.DATABASE_URL,
      databaseMigrationUrl: raw.DATABASE_URL ? raw.DATABASE_MIGRATION_URL : undefined,
      dataDir: path.resolve(raw.DATA_DIR),
      authSecret: secret,
      sessionMaxAgeSeconds: raw.SESSION_MAX_AGE_SECONDS,
      // A workstation left signed in stops serving patient data after this much inactivity.
      sessionIdleSeconds: Math.min(raw.SESSION_IDLE_SECONDS, raw.SESSION_MAX_AGE_SECONDS),
      login: {
        maxFailuresPerAccount: raw.LOGIN_MAX_FAILURES_PER_ACCOUNT,
        maxFailuresPerAddress: raw.LOGIN_MAX_FAILURES_PER_ADDRESS,
        lockoutSeconds: raw.LOGIN_LOCKOUT_SECONDS,
      },
      upload: {
        maxBytes: raw.UPLOAD_MAX_BYTES,
        // Ceiling for what a .nii.gz or a zip may inflate to: decompression bombs stop here.
        maxInflatedBytes: raw.UPLOAD_MAX_INFLATED_BYTES,
        maxArchiveEntries: raw.UPLOAD_MAX_ARCHIVE_ENTRIES,
        expirationMs: raw.UPLOAD_EXPIRATION_HOURS * 60 * 60 * 1000,
      },
      ingest: {
        workers: raw.INGEST_WORKERS,
        /** V8 heap limit of one ingest worker (worker_threads resourceLimits). */
        workerMemoryMb: raw.INGEST_WORKER_MEMORY_MB,
        parseTimeoutMs: raw.INGEST_PARSE_TIMEOUT_MS,
      },
      segmentation: {
        totalSegmentatorPath: raw.TOTALSEGMENTATOR_PATH,
        totalSegmentatorUrl: raw.TOTALSEGMENTATOR_URL,
        totalSegmentatorToken: raw.TOTALSEGMENTATOR_TOKEN,
        totalSegmentatorDevice: raw.TOTALSEGMENTATOR_DEVICE,
        timeoutSeconds: raw.SEGMENTATION_TIMEOUT_SECONDS,
        maxVoxels: raw.SEGMENTATION_MAX_VOXELS,
      },
      imaging: {
        /** Worker threads that decode, render and encode images. */
        workers: raw.IMAGE_WORKERS,
      },
      ai: aiConfigOf(raw),
    };
  });

/**
 * Which Gemini route the server uses. Vertex AI (project + location, Google Cloud credentials or a
 * fixed access token) is the route a Google BAA can cover; the developer API takes an API key.
 * Neither configured: the AI feature is off and says so.
 */
export type AiConfig =
  | { backend: 'none'; model: string; timeoutMs: number }
  | { backend: 'developer'; apiKey: string; baseUrl?: string; model: string; timeoutMs: number }
  | { backend: 'vertex'; project: string; location: string; accessToken?: string; baseUrl?: string; model: string; timeoutMs: number };

function aiConfigOf(raw: {
  GOOGLE_API_KEY?: string;
  GEMINI_API_KEY?: string;
  GEMINI_BASE_URL?: string;
  GEMINI_MODEL: string;
  GEMINI_TIMEOUT_SECONDS: number;
  GOOGLE_GENAI_USE_VERTEXAI: boolean;
  GOOGLE_CLOUD_PROJECT?: string;
  GOOGLE_CLOUD_LOCATION?: string;
  GOOGLE_VERTEX_ACCESS_TOKEN?: string;
}): AiConfig {
  const common = { model: raw.GEMINI_MODEL, timeoutMs: raw.GEMINI_TIMEOUT_SECONDS * 1000, ...(raw.GEMINI_BASE_URL ? { baseUrl: raw.GEMINI_BASE_URL } : {}) };
  if (raw.GOOGLE_GENAI_USE_VERTEXAI && raw.GOOGLE_CLOUD_PROJECT) {
    return {
      backend: 'vertex',
      project: raw.GOOGLE_CLOUD_PROJECT,
      location: raw.GOOGLE_CLOUD_LOCATION ?? 'us-central1',
      ...(raw.GOOGLE_VERTEX_ACCESS_TOKEN ? { accessToken: raw.GOOGLE_VERTEX_ACCESS_TOKEN } : {}),
      ...common,
    };
  }
  const apiKey = raw.GOOGLE_API_KEY ?? raw.GEMINI_API_KEY;
  if (apiKey) return { backend: 'developer', apiKey, ...common };
  return { backend: 'none', model: common.model, timeoutMs: common.timeoutMs };
}

export type Env = z.output<typeof schema> & { authSecret: string };

export class EnvError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'EnvError';
  }
}

/** Parses configuration from an environment object; throws EnvError listing every problem. */
export function parseEnv(source: Record<string, string | undefined>): z.output<typeof schema> {
  const result = schema.safeParse(source);
  const problems = result.success
    ? []
    : result.error.issues.map((issue) => `${issue.path.join('.') || 'env'}: ${issue.message}`);
  // Checked apart from the schema so that it is reported even when other variables are wrong too.
  problems.push(...productionSecretProblems(source));
  if (!result.success || problems.length > 0) throw new EnvError(problems);
  return result.data;
}

function productionSecretProblems(source: Record<string, string | undefined>): string[] {
  if (source.NODE_ENV !== 'production') return [];
  const secret = source.AUTH_SECRET || source.SESSION_SECRET;
  if (!secret) {
    return ['AUTH_SECRET: AUTH_SECRET (or SESSION_SECRET) is required in production; generate one with `openssl rand -base64 32`'];
  }
  if (secret.length < 32) return ['AUTH_SECRET: must be at least 32 characters in production'];
  if (KNOWN_DEFAULT_SECRETS.has(secret.toLowerCase())) return ['AUTH_SECRET: is a well-known default value; generate a fresh secret'];
  return [];
}

/**
 * Outside production a newcomer should not have to invent a secret, so one is generated once and
 * kept in the data directory; sessions then survive restarts.
 */
function devSecret(dataDir: string): string {
  const file = path.join(dataDir, '.dev-auth-secret');
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    mkdirSync(dataDir, { recursive: true });
    const secret = randomBytes(32).toString('base64url');
    writeFileSync(file, secret, { mode: 0o600 });
    return secret;
  }
}

let cached: Env | undefined;

/** The validated configuration of this process, parsed once. */
export function getEnv(): Env {
  if (!cached) {
    const parsed = parseEnv(process.env);
    cached = { ...parsed, authSecret: parsed.authSecret ?? devSecret(parsed.dataDir) };
  }
  return cached;
}

/** Tests change process.env between cases; production code never calls this. */
export function resetEnvForTests(): void {
  cached = undefined;
}
