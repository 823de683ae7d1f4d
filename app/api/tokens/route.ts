import { z } from 'zod';
import { parseJsonBody, withApi } from '@/lib/api/route';
import { createApiToken, createdTokenSchema, listTokens, tokenListSchema } from '@/lib/auth/token-admin';

export const dynamic = 'force-dynamic';

export const GET = withApi(async ({ actor }) => tokenListSchema.parse({ tokens: await listTokens(actor) }), {
  roles: ['admin'],
  scope: 'admin',
  action: 'api_token.list',
});

/** 201 with the secret, which is never shown again. The body is checked (and refusals audited) by createApiToken. */
export const POST = withApi(
  async ({ req, actor }) => {
    const created = await createApiToken(await parseJsonBody(req, z.unknown()), actor);
    return Response.json(createdTokenSchema.parse(created), { status: 201, headers: { 'Cache-Control': 'no-store', Location: `/api/tokens/${created.token.id}` } });
  },
  { roles: ['admin'], scope: 'admin', action: 'api_token.create' },
);
