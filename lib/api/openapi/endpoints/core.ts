import { z } from 'zod';
import { defineEndpoints, errorBodySchema } from '../registry';
import { healthSchema, meSchema } from '../schemas';

export const coreEndpoints = defineEndpoints([
  {
    method: 'get',
    path: '/api/health',
    operationId: 'getHealth',
    summary: 'Liveness with a database round trip',
    tags: ['system'],
    auth: 'public',
    responses: { 200: { description: 'The server and its database answer', schema: healthSchema } },
    errors: [503],
  },
  {
    method: 'get',
    path: '/api/openapi.json',
    operationId: 'getOpenApi',
    summary: 'This OpenAPI 3.1 document',
    description: 'Public: it describes the API and holds no patient data. Every other endpoint needs a session or a token.',
    tags: ['system'],
    auth: 'public',
    responses: { 200: { description: 'The OpenAPI document', schema: z.object({ openapi: z.string().regex(/^3\.1\./), info: z.object({ title: z.string(), version: z.string() }).loose(), paths: z.record(z.string(), z.unknown()) }).loose() } },
  },
  {
    method: 'get',
    path: '/api/me',
    operationId: 'getMe',
    summary: 'Who is calling: the signed-in user or the API token',
    tags: ['system'],
    auth: { scope: 'none' },
    responses: { 200: { description: 'The principal', schema: meSchema } },
  },
  ...(['get', 'post', 'put', 'patch', 'delete'] as const).map((method) => ({
    method,
    path: '/api/{path}',
    operationId: `${method}UnknownApiPath`,
    summary: 'Any other /api path: 404 in the error shape',
    tags: ['system'],
    auth: 'public' as const,
    catchAll: true,
    params: z.object({ path: z.string() }),
    responses: { 404: { description: 'No such API endpoint', schema: errorBodySchema } },
  })),
  ...(['get', 'post'] as const).map((method) => ({
    method,
    path: '/api/auth/{nextauth}',
    operationId: `${method}AuthJs`,
    summary: 'Auth.js (next-auth v5) endpoints used by the sign-in pages',
    description:
      'session, csrf, providers, signin/credentials, callback/credentials, signout. For browsers: API clients authenticate with `Authorization: Bearer <token>` instead.',
    tags: ['auth'],
    auth: 'public' as const,
    catchAll: true,
    params: z.object({ nextauth: z.string() }),
    responses: { 200: { description: 'Auth.js JSON (session, csrf, providers) ', contentType: 'application/json' }, 302: { description: 'Redirect after sign-in or sign-out' } },
  })),
]);
