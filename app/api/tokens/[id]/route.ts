import { z } from 'zod';
import { withApi } from '@/lib/api/route';
import { revokeApiToken, revokedTokenSchema } from '@/lib/auth/token-admin';

export const dynamic = 'force-dynamic';

/** Revokes the token at once; it stays listed (as revoked) for the record. */
export const DELETE = withApi(async ({ params, actor }) => revokedTokenSchema.parse({ token: await revokeApiToken(params.id, actor) }), {
  params: z.object({ id: z.uuid() }),
  roles: ['admin'],
  scope: 'admin',
  action: 'api_token.revoke',
});
