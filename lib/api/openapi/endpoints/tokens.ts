import { z } from 'zod';
import { createdTokenSchema, newTokenSchema, revokedTokenSchema, tokenListSchema } from '@/lib/auth/token-admin';
import { defineEndpoints } from '../registry';

const admin = { roles: ['admin'] as const, scope: 'admin' as const };

export const tokenEndpoints = defineEndpoints([
  {
    method: 'get',
    path: '/api/tokens',
    operationId: 'listTokens',
    summary: 'API tokens (revoked ones too), newest first; never their secrets',
    tags: ['tokens'],
    auth: admin,
    responses: { 200: { description: 'The tokens', schema: tokenListSchema } },
  },
  {
    method: 'post',
    path: '/api/tokens',
    operationId: 'createToken',
    summary: 'Create a named token with a role, scopes and an optional expiry (audited)',
    description: 'The secret is in this response only: the server keeps its sha256.',
    tags: ['tokens'],
    auth: admin,
    body: { schema: newTokenSchema },
    responses: { 201: { description: 'Created; the secret is shown this once', schema: createdTokenSchema, headers: { Location: 'The token: /api/tokens/{id}' } } },
    errors: [415],
  },
  {
    method: 'delete',
    path: '/api/tokens/{id}',
    operationId: 'revokeToken',
    summary: 'Revoke a token at once (audited); it stays listed as revoked',
    tags: ['tokens'],
    auth: admin,
    params: z.object({ id: z.uuid() }),
    responses: { 200: { description: 'The revoked token', schema: revokedTokenSchema } },
    errors: [409],
  },
]);
