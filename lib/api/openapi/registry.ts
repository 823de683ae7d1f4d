/**
 * The OpenAPI registry: each endpoint is described once, with zod schemas for its parameters,
 * body and responses; lib/api/openapi/document.ts turns the descriptions into the OpenAPI 3.1
 * document served at /api/openapi.json. Handlers parse with the same schemas where practical.
 *
 * To register endpoints: add a file under endpoints/ exporting an EndpointDef[] and list it in
 * endpoints/index.ts. openapi.test.ts fails for any route file or exported method under app/api
 * and app/dicomweb that no EndpointDef describes.
 */
import { z } from 'zod';
import type { UserRole } from '@/lib/auth/roles';
import type { RouteScope } from '@/lib/auth/scopes';

export type HttpMethod = 'get' | 'head' | 'post' | 'put' | 'patch' | 'delete' | 'options';

/** A response: JSON with a schema, or another media type (binary, multipart) described in words. */
export interface ResponseDef {
  description: string;
  /** JSON body (application/json unless `contentType` says e.g. application/dicom+json). */
  schema?: z.ZodType;
  /**
   * Media type(s) of the body; several for negotiated bodies (image/png, image/jpeg, …). With
   * several, `schema` applies to the JSON ones only (application/json beside text/csv).
   */
  contentType?: string | string[];
  /** Headers the response always has, name → description (responses.test.ts checks they are sent). */
  headers?: Record<string, string>;
  /**
   * Further media types of the same status with their own schema, e.g. a streamed variant of a
   * JSON answer: for application/x-ndjson the schema describes the lines as an array.
   */
  alsoContent?: { type: string; schema: z.ZodType }[];
}

export interface EndpointDef {
  method: HttpMethod;
  /** OpenAPI path template, e.g. /api/studies/{id}; catch-all segments are one {name}. */
  path: string;
  operationId: string;
  summary: string;
  description?: string;
  tags: string[];
  /**
   * `public`: no authentication. Otherwise a session or a bearer token; `roles` limits both,
   * `scope` is what a token needs (null: tokens are refused).
   */
  auth: 'public' | { roles?: readonly UserRole[]; scope: RouteScope | null };
  params?: z.ZodObject;
  query?: z.ZodObject;
  body?: { schema?: z.ZodType; contentType?: string; description?: string; required?: boolean };
  /** Success (and other documented) responses by status. */
  responses: Record<number, ResponseDef>;
  /**
   * Error statuses this endpoint answers in the error shape, beyond those implied by `auth`
   * (401, 403), `params` (404) and `query`/`body` (400), which are added automatically.
   */
  errors?: number[];
  /** Route is a Next.js catch-all (e.g. Auth.js, the unknown-path fallback). */
  catchAll?: boolean;
}

/** The one error shape of every endpoint. */
export const errorBodySchema = z
  .object({
    error: z.object({
      code: z.string().describe('Machine-readable code, e.g. validation_error, unauthorized, forbidden, not_found, conflict'),
      message: z.string().describe('Human-readable explanation, safe to show'),
      details: z.unknown().optional(),
    }),
  })
  .describe('Error');

export const ERROR_DESCRIPTIONS: Record<number, string> = {
  400: 'Malformed input (bad_request, validation_error, invalid_json)',
  401: 'No session, or an invalid, expired or revoked token (unauthorized)',
  403: 'The role, or the token\u2019s scopes, do not allow this (forbidden; audited)',
  404: 'Missing, someone else\u2019s, or malformed id (not_found)',
  406: 'None of the accepted media types can be produced (not_acceptable)',
  409: 'Duplicate, or a state that forbids the change (conflict)',
  413: 'Body too large (payload_too_large)',
  415: 'Unsupported media type or format',
  422: 'The content cannot be processed (e.g. invalid_dicom, checksum_mismatch)',
  423: 'Another request is writing to this upload (locked; Retry-After is set)',
  503: 'The database is unavailable (database_unavailable; Retry-After is set)',
  507: 'No room left on the server\u2019s disk (insufficient_storage; Retry-After is set); uploads resume once space is back',
  500: 'A bug (internal_error); details are logged on the server, never sent',
};

export function defineEndpoints(defs: EndpointDef[]): EndpointDef[] {
  return defs;
}

/**
 * Timestamps as the API sends them: ISO 8601 in UTC. Parsing accepts a Date too, so a handler can
 * run its result through the response schema and get exactly what the document describes.
 */
export const timestamp = z
  .union([z.date(), z.string()])
  .transform((v) => (v instanceof Date ? v : new Date(v)).toISOString())
  .pipe(z.iso.datetime());
export const uuid = z.uuid();

/**
 * Compile-time check that a lib result type T fits a response schema S: valid input, and no
 * top-level key S lacks (responses.test.ts finds nested ones). Use as `Assert<Fits<S, T>>`.
 */
export type Fits<S extends z.ZodType, T extends z.input<S>> = [Exclude<keyof T, keyof z.input<S>>] extends [never] ? true : { keysTheSchemaLacks: Exclude<keyof T, keyof z.input<S>> };
export type Assert<T extends true> = T;
