import { z } from 'zod';
import { getDb } from '@/db';
import { findApiTokenById, insertApiToken, listApiTokens, revokeApiTokenRow } from '@/db/queries/api-tokens';
import type { ApiToken } from '@/db/schema';
import { ApiError, conflict, forbidden, notFound } from '@/lib/api/errors';
import { timestamp, uuid } from '@/lib/api/openapi/registry';
import { recordAudit, type Actor } from '@/lib/audit';
import { USER_ROLES } from './roles';
import { API_SCOPES } from './scopes';
import { forgetApiToken, generateApiTokenSecret } from './tokens';

/** Body of POST /api/tokens (and of the admin page's form). */
export const newTokenSchema = z.object({
  name: z.string().trim().min(1, 'Enter a name').max(100, 'Use at most 100 characters'),
  role: z.enum(USER_ROLES),
  scopes: z
    .array(z.enum(API_SCOPES))
    .min(1, 'Choose at least one scope')
    .max(API_SCOPES.length)
    .transform((scopes) => [...new Set(scopes)]),
  /** When the token stops working; omitted or null: never. */
  expiresAt: z.iso
    .datetime({ offset: true })
    .nullish()
    .transform((v) => (v ? new Date(v) : null))
    .refine((d) => d === null || d.getTime() > Date.now(), 'The expiry must be in the future'),
});
export type NewTokenInput = z.input<typeof newTokenSchema>;

export type TokenStatus = 'active' | 'expired' | 'revoked';

/** A token as the API shows it (never its secret or hash); also the OpenAPI response schema. */
export const tokenSummarySchema = z.object({
  id: uuid,
  name: z.string(),
  prefix: z.string().describe('The first characters of the secret, to recognise it'),
  role: z.enum(USER_ROLES),
  scopes: z.array(z.enum(API_SCOPES)),
  status: z.enum(['active', 'expired', 'revoked']),
  createdAt: timestamp,
  createdBy: z.object({ id: uuid, email: z.string().nullable() }).nullable(),
  lastUsedAt: timestamp.nullable(),
  expiresAt: timestamp.nullable(),
  revokedAt: timestamp.nullable(),
});
export const tokenListSchema = z.object({ tokens: z.array(tokenSummarySchema) });
export const createdTokenSchema = z.object({
  token: tokenSummarySchema,
  secret: z.string().describe('The bearer secret: shown in this response only, never again'),
});
export const revokedTokenSchema = z.object({ token: tokenSummarySchema });

export interface TokenSummary {
  id: string;
  name: string;
  prefix: string;
  role: ApiToken['role'];
  scopes: string[];
  status: TokenStatus;
  createdAt: Date;
  createdBy: { id: string; email: string | null } | null;
  lastUsedAt: Date | null;
  expiresAt: Date | null;
  revokedAt: Date | null;
}

export function tokenStatus(token: Pick<ApiToken, 'revokedAt' | 'expiresAt'>, now = new Date()): TokenStatus {
  if (token.revokedAt) return 'revoked';
  if (token.expiresAt && token.expiresAt <= now) return 'expired';
  return 'active';
}

export function summariseToken(token: ApiToken, creatorEmail: string | null = null): TokenSummary {
  return {
    id: token.id,
    name: token.name,
    prefix: token.prefix,
    role: token.role,
    scopes: token.scopes,
    status: tokenStatus(token),
    createdAt: token.createdAt,
    createdBy: token.createdBy ? { id: token.createdBy, email: creatorEmail } : null,
    lastUsedAt: token.lastUsedAt,
    expiresAt: token.expiresAt,
    revokedAt: token.revokedAt,
  };
}

function assertAdmin(actor: Actor): void {
  if (actor.role !== 'admin') throw forbidden('Only administrators can manage API tokens');
}

async function audited<T>(actor: Actor, action: string, resourceId: string | null, run: () => Promise<{ result: T; details?: Record<string, unknown> }>): Promise<T> {
  try {
    const { result, details } = await run();
    await recordAudit(actor, { action, outcome: 'success', resourceType: 'api_token', resourceId: (result as { token?: { id?: string } }).token?.id ?? resourceId, details });
    return result;
  } catch (error) {
    if (error instanceof ApiError || error instanceof z.ZodError) {
      const status = error instanceof ApiError ? error.status : 400;
      await recordAudit(actor, {
        action,
        outcome: status === 403 ? 'denied' : 'failure',
        resourceType: 'api_token',
        resourceId,
        details: { code: error instanceof ApiError ? error.code : 'validation_error' },
      });
    }
    throw error;
  }
}

/**
 * Creates a named token with a role and scopes. The secret is returned here and only here: the
 * database keeps its sha256, so it can never be shown again.
 */
export async function createApiToken(input: unknown, actor: Actor): Promise<{ token: TokenSummary; secret: string }> {
  return audited(actor, 'api_token.create', null, async () => {
    assertAdmin(actor);
    const data = newTokenSchema.parse(input);
    const generated = generateApiTokenSecret();
    const db = await getDb();
    const row = await insertApiToken(db, {
      name: data.name,
      role: data.role,
      scopes: data.scopes,
      expiresAt: data.expiresAt,
      tokenHash: generated.hash,
      prefix: generated.prefix,
      createdBy: actor.userId ?? null,
    });
    return {
      result: { token: summariseToken(row, actor.email ?? null), secret: generated.secret },
      details: { name: row.name, role: row.role, scopes: row.scopes, prefix: row.prefix, expiresAt: row.expiresAt?.toISOString() ?? null },
    };
  });
}

export async function listTokens(actor: Actor): Promise<TokenSummary[]> {
  assertAdmin(actor);
  return (await listApiTokens(await getDb())).map((r) => summariseToken(r.token, r.creatorEmail));
}

/** Revokes a token; the next request that presents it is refused (here at once, see findActiveApiToken). */
export async function revokeApiToken(id: string, actor: Actor): Promise<TokenSummary> {
  return audited(actor, 'api_token.revoke', id, async () => {
    assertAdmin(actor);
    const db = await getDb();
    const valid = z.uuid().safeParse(id).success;
    const revoked = valid ? await revokeApiTokenRow(db, id) : undefined;
    if (revoked) forgetApiToken(revoked.id);
    if (!revoked) {
      const existing = valid ? await findApiTokenById(db, id) : undefined;
      if (!existing) throw notFound('No such API token');
      throw conflict('This API token is already revoked');
    }
    return { result: { token: summariseToken(revoked) }, details: { name: revoked.name, prefix: revoked.prefix } };
  }).then((r) => r.token);
}
