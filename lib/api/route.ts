import { z } from 'zod';
import type { UserRole } from '@/lib/auth/roles';
import { tokenHasScope, type RouteScope } from '@/lib/auth/scopes';
import { recordAudit, type Actor, type AuditEvent } from '@/lib/audit';
import { ApiError, forbidden, toErrorResponse, unauthorized } from './errors';
import { isCrossSiteRequest } from '@/lib/security/origin';
import { requestMeta } from './request-meta';

export interface Principal {
  kind: 'user' | 'token';
  /** User id, or token id for API tokens. */
  id: string;
  email: string | null;
  role: UserRole;
  tokenId: string | null;
  scopes: string[];
}

export interface ApiContext<P> {
  req: Request;
  params: P;
  principal: Principal;
  actor: Actor;
}

export interface PublicApiContext<P> {
  req: Request;
  params: P;
  actor: Actor;
}

type RouteContext = { params?: Promise<Record<string, string | string[]>> };
type Result = Response | object;

export function actorOf(principal: Principal | null, req: Request): Actor {
  return {
    ...requestMeta(req.headers),
    userId: principal?.kind === 'user' ? principal.id : null,
    email: principal?.email ?? null,
    role: principal?.role ?? null,
    tokenId: principal?.tokenId ?? null,
  };
}

function logAuditFault(error: unknown): void {
  console.error('[audit] could not record a refused request', error);
}

/** Bearer token first (external systems), then the browser session. */
export async function resolvePrincipal(req: Request): Promise<Principal | null> {
  const authorization = req.headers.get('authorization');
  if (authorization) {
    const match = /^Bearer\s+(\S+)$/i.exec(authorization);
    // A presented credential that fails is a failed authentication: audited (never the secret itself).
    const refuse = async (reason: string, message: string) => {
      await recordAudit(requestMeta(req.headers), { action: 'auth.token', outcome: 'failure', details: { reason, path: new URL(req.url).pathname } }).catch(logAuditFault);
      return unauthorized(message);
    };
    if (!match?.[1]) throw await refuse('malformed', 'Malformed Authorization header; expected "Bearer <token>"');
    const { findActiveApiToken } = await import('@/lib/auth/tokens');
    const token = await findActiveApiToken(match[1]);
    if (!token) throw await refuse('invalid_token', 'Invalid, expired or revoked API token');
    return { kind: 'token', id: token.id, email: null, role: token.role, tokenId: token.id, scopes: token.scopes };
  }
  // No session cookie, no session: skip Auth.js (and its request-scoped header reads) entirely.
  if (!req.headers.get('cookie')?.includes('authjs.session-token')) return null;
  const { getCurrentUser } = await import('@/lib/auth/session');
  const user = await getCurrentUser();
  if (!user) return null;
  return { kind: 'user', id: user.id, email: user.email, role: user.role, tokenId: null, scopes: [] };
}

async function parseParams<P>(schema: z.ZodType<P> | undefined, context: RouteContext): Promise<P> {
  const raw = (await context.params) ?? {};
  if (!schema) return raw as P;
  const parsed = schema.safeParse(raw);
  // Malformed ids name nothing that exists: answer like a missing resource.
  if (!parsed.success) throw new ApiError(404, 'not_found', 'Not found');
  return parsed.data;
}

function toResponse(result: Result): Response {
  return result instanceof Response ? result : Response.json(result, { headers: { 'Cache-Control': 'no-store' } });
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

type AuditTarget = Pick<AuditEvent, 'studyId' | 'patientId' | 'resourceType' | 'resourceId'>;

/**
 * Authentication for every API request (withApi, the tus endpoint): a principal, or a 401 that is
 * audited as a failed access; cookie-authenticated changes sent by another site are refused (403,
 * audited) before they reach a handler.
 */
export async function authenticateRequest(req: Request, action: string, target: AuditTarget = {}): Promise<Principal> {
  // A presented token that fails is recorded by resolvePrincipal itself (auth.token): one row.
  const principal = await resolvePrincipal(req);
  if (!principal) {
    const reason = req.headers.get('cookie')?.includes('authjs.session-token') ? 'session_ended' : 'no_credentials';
    await recordAudit(actorOf(null, req), { action, outcome: 'failure', ...target, details: { reason, method: req.method } });
    throw unauthorized();
  }
  if (principal.kind === 'user' && !SAFE_METHODS.has(req.method) && isCrossSiteRequest(req)) {
    await recordAudit(actorOf(principal, req), { action, outcome: 'denied', ...target, details: { reason: 'cross_site', origin: req.headers.get('origin'), method: req.method } });
    throw forbidden('Cross-site requests are refused');
  }
  return principal;
}

/**
 * The one way to write an API route: parse params → authenticate → authorise by role → run the
 * handler; every failure leaves as `{ error: { code, message } }`. Refusals (no or bad
 * credentials, role, token scope, cross-site) are audited with the route's `action` and, where
 * `target` names one, its study or resource.
 */
export function withApi<P = Record<string, never>>(
  handler: (ctx: ApiContext<P>) => Promise<Result>,
  options: {
    roles?: readonly UserRole[];
    params?: z.ZodType<P>;
    action?: string;
    /** The scope an API token needs; routes that declare none refuse tokens outright. */
    scope?: RouteScope;
    /** What the request is about, for the audit rows of refusals (e.g. the study of /api/studies/{id}). */
    target?: (params: P) => AuditTarget;
  } = {},
) {
  return async (req: Request, context: RouteContext = {}): Promise<Response> => {
    try {
      const action = options.action ?? `${req.method} ${new URL(req.url).pathname}`;
      const params = await parseParams(options.params, context).catch(async (error: unknown) => {
        // A malformed id answers like a missing resource, and is recorded like one.
        const who = await resolvePrincipal(req).then(
          (p) => ({ ok: true as const, p }),
          () => ({ ok: false as const }),
        );
        if (who.ok) await recordAudit(actorOf(who.p, req), { action, outcome: 'failure', details: { reason: 'not_found', malformed: true } }).catch(logAuditFault);
        throw error;
      });
      const target = options.target?.(params) ?? {};
      const principal = await authenticateRequest(req, action, target);
      const actor = actorOf(principal, req);
      if (options.roles && !options.roles.includes(principal.role)) {
        await recordAudit(actor, { action, outcome: 'denied', ...target, details: { reason: 'role' } });
        throw forbidden();
      }
      if (principal.kind === 'token' && !(options.scope && tokenHasScope(principal.scopes, options.scope))) {
        await recordAudit(actor, { action, outcome: 'denied', ...target, details: { reason: 'scope', required: options.scope ?? null } });
        throw forbidden(options.scope ? `This API token lacks the "${options.scope}" scope` : 'API tokens may not call this endpoint');
      }
      return toResponse(await handler({ req, params, principal, actor }));
    } catch (error) {
      return toErrorResponse(error);
    }
  };
}

/** Audit target of routes whose `{id}` is a study. */
export const studyTarget = (params: { id: string }): AuditTarget => ({ studyId: params.id, resourceType: 'study', resourceId: params.id });

/** For the few endpoints that answer without a session (health checks, first-run probes). */
export function withPublicApi<P = Record<string, never>>(
  handler: (ctx: PublicApiContext<P>) => Promise<Result>,
  options: { params?: z.ZodType<P> } = {},
) {
  return async (req: Request, context: RouteContext = {}): Promise<Response> => {
    try {
      const params = await parseParams(options.params, context);
      return toResponse(await handler({ req, params, actor: actorOf(null, req) }));
    } catch (error) {
      return toErrorResponse(error);
    }
  };
}

/** Parses a JSON body with a zod schema; malformed JSON is a 400, not a 500. */
export async function parseJsonBody<T>(req: Request, schema: z.ZodType<T>, maxBytes = 1024 * 1024): Promise<T> {
  const type = req.headers.get('content-type') ?? '';
  if (!/^application\/(.+\+)?json\b/i.test(type)) {
    throw new ApiError(415, 'unsupported_media_type', 'Send the body as application/json');
  }
  const text = await req.text();
  if (Buffer.byteLength(text) > maxBytes) throw new ApiError(413, 'payload_too_large', 'Request body is too large');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ApiError(400, 'invalid_json', 'Request body is not valid JSON');
  }
  return schema.parse(value);
}
