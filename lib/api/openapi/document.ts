/** Builds the OpenAPI 3.1 document from the endpoint registry (zod schemas → JSON Schema 2020-12). */
import { z } from 'zod';
import { API_SCOPES, SCOPE_LABELS } from '@/lib/auth/scopes';
import { ALL_ENDPOINTS } from './endpoints';
import { ERROR_DESCRIPTIONS, errorBodySchema, type EndpointDef, type ResponseDef } from './registry';

type JsonSchema = Record<string, unknown>;

/** JSON Schema of a zod schema, self-contained (no $defs: every schema can be compiled alone). */
export function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const out = z.toJSONSchema(schema, { io, target: 'draft-2020-12', unrepresentable: 'any', reused: 'inline', cycles: 'throw' }) as JsonSchema;
  delete out.$schema;
  return out;
}

function parameters(def: EndpointDef): JsonSchema[] {
  const out: JsonSchema[] = [];
  for (const [location, schema] of [['path', def.params], ['query', def.query]] as const) {
    if (!schema) continue;
    for (const [name, field] of Object.entries(schema.shape as Record<string, z.ZodType>)) {
      const fieldSchema = jsonSchema(field, 'input');
      const description = fieldSchema.description;
      delete fieldSchema.description;
      out.push({
        name,
        in: location,
        required: location === 'path' || !field.safeParse(undefined).success,
        ...(description ? { description } : {}),
        schema: fieldSchema,
      });
    }
  }
  return out;
}

function content(response: ResponseDef): JsonSchema | undefined {
  const types = response.contentType ? [response.contentType].flat() : response.schema ? ['application/json'] : [];
  if (types.length === 0 && !response.alsoContent?.length) return undefined;
  // The schema describes the JSON media types; others listed beside them (a CSV export) have none.
  const described = (type: string) => response.schema && (types.length === 1 || /[/+]json$/.test(type));
  return Object.fromEntries([
    ...types.map((type) => [type, described(type) ? { schema: jsonSchema(response.schema!, 'output') } : {}]),
    ...(response.alsoContent ?? []).map((also) => [also.type, { schema: jsonSchema(also.schema, 'output') }]),
  ]);
}

function errorStatuses(def: EndpointDef): number[] {
  const statuses = new Set(def.errors ?? []);
  if (def.auth !== 'public') {
    statuses.add(401);
    statuses.add(403);
    statuses.add(503);
  }
  if (def.params) statuses.add(404);
  if (def.query || def.body?.schema) statuses.add(400);
  return [...statuses].filter((s) => !def.responses[s]).sort();
}

function security(def: EndpointDef): JsonSchema[] | undefined {
  if (def.auth === 'public') return [];
  const scopes = def.auth.scope && def.auth.scope !== 'none' ? [def.auth.scope] : [];
  return [{ session: [] }, ...(def.auth.scope === null ? [] : [{ bearer: scopes }])];
}

function operation(def: EndpointDef): JsonSchema {
  const responses: Record<string, JsonSchema> = {};
  for (const [status, response] of Object.entries(def.responses)) {
    const body = content(response);
    const headers = response.headers && Object.fromEntries(Object.entries(response.headers).map(([name, description]) => [name, { description, required: true, schema: { type: 'string' } }]));
    responses[status] = { description: response.description, ...(headers ? { headers } : {}), ...(body ? { content: body } : {}) };
  }
  for (const status of errorStatuses(def)) {
    responses[String(status)] = { description: ERROR_DESCRIPTIONS[status] ?? 'Error', content: { 'application/json': { schema: jsonSchema(errorBodySchema, 'output') } } };
  }
  responses.default = { description: ERROR_DESCRIPTIONS[500]!, content: { 'application/json': { schema: jsonSchema(errorBodySchema, 'output') } } };
  const roles = def.auth !== 'public' && def.auth.roles ? `Roles: ${def.auth.roles.join(', ')}. ` : '';
  const scope = def.auth === 'public' ? 'No authentication. ' : def.auth.scope === null ? 'Sessions only; API tokens are refused. ' : def.auth.scope === 'none' ? 'Any valid session or token. ' : `Token scope: ${def.auth.scope}. `;
  const params = parameters(def);
  return {
    operationId: def.operationId,
    summary: def.summary,
    description: `${scope}${roles}${def.description ?? ''}`.trim(),
    tags: def.tags,
    ...(params.length ? { parameters: params } : {}),
    ...(def.body
      ? {
          requestBody: {
            required: def.body.required ?? true,
            ...(def.body.description ? { description: def.body.description } : {}),
            content: { [def.body.contentType ?? 'application/json']: def.body.schema ? { schema: jsonSchema(def.body.schema, 'input') } : {} },
          },
        }
      : {}),
    responses,
    security: security(def),
    ...(def.catchAll ? { 'x-catch-all': true } : {}),
  };
}

export interface OpenApiDocument {
  openapi: string;
  info: Record<string, unknown>;
  paths: Record<string, Record<string, JsonSchema>>;
  components: Record<string, unknown>;
  [key: string]: unknown;
}

export function buildOpenApiDocument(endpoints: EndpointDef[] = ALL_ENDPOINTS): OpenApiDocument {
  const paths: OpenApiDocument['paths'] = {};
  const seen = new Set<string>();
  for (const def of endpoints) {
    const key = `${def.method} ${def.path}`;
    if (seen.has(key)) throw new Error(`OpenAPI: ${key} is registered twice`);
    if (seen.has(`operationId ${def.operationId}`)) throw new Error(`OpenAPI: operationId ${def.operationId} is used twice`);
    seen.add(key);
    seen.add(`operationId ${def.operationId}`);
    (paths[def.path] ??= {})[def.method] = operation(def);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Imaging platform API',
      version: '1.0.0',
      description:
        'REST API and DICOMweb of the imaging platform. Authenticate with the browser session cookie or `Authorization: Bearer <token>` (tokens are made by administrators at /admin/tokens). A token acts with its role and needs the scope each operation names. Errors: `{ "error": { "code", "message" } }`. This document is public; everything it describes needs authentication unless it says otherwise.',
    },
    servers: [{ url: '/' }],
    tags: [
      { name: 'system' },
      { name: 'auth' },
      { name: 'studies' },
      { name: 'worklist', description: 'Workflow (assignee, priority), saved searches, audit trail' },
      { name: 'segmentation', description: 'Segmentation jobs, results, overlays and label maps' },
      { name: 'jobs' },
      { name: 'uploads' },
      { name: 'tokens' },
      { name: 'dicomweb', description: 'QIDO-RS, WADO-RS and STOW-RS (DICOM PS3.18)' },
    ],
    paths,
    components: {
      securitySchemes: {
        session: { type: 'apiKey', in: 'cookie', name: 'authjs.session-token', description: 'Browser session (Auth.js)' },
        bearer: {
          type: 'http',
          scheme: 'bearer',
          description: `API token. Scopes: ${API_SCOPES.map((s) => `${s} (${SCOPE_LABELS[s]})`).join(', ')}`,
        },
      },
      schemas: { Error: jsonSchema(errorBodySchema, 'output') },
    },
  };
}

let cached: OpenApiDocument | undefined;

/** The document, built once per process. */
export function openApiDocument(): OpenApiDocument {
  cached ??= buildOpenApiDocument();
  return cached;
}
