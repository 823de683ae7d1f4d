import { z } from 'zod';
import { parseJsonBody, withApi } from '@/lib/api/route';
import { deleteSavedSearch, getSavedSearch, updateSavedSearch } from '@/lib/studies/saved-searches';

export const dynamic = 'force-dynamic';

const params = z.object({ id: z.string().uuid() });

export const GET = withApi(async ({ params, actor }) => ({ savedSearch: await getSavedSearch(actor, params.id) }), { params, scope: 'studies:read' });

export const PATCH = withApi(
  async ({ req, params, actor }) => ({ savedSearch: await updateSavedSearch(actor, params.id, await parseJsonBody(req, z.unknown(), 16 * 1024)) }),
  { params, scope: 'studies:write' },
);

export const DELETE = withApi(
  async ({ params, actor }) => {
    await deleteSavedSearch(actor, params.id);
    return new Response(null, { status: 204 });
  },
  { params, scope: 'studies:write' },
);
