import { parseJsonBody, withApi } from '@/lib/api/route';
import { createSavedSearch, listMySavedSearches } from '@/lib/studies/saved-searches';
import { z } from 'zod';

export const dynamic = 'force-dynamic';

export const GET = withApi(async ({ actor }) => ({ savedSearches: await listMySavedSearches(actor) }), { scope: 'studies:read' });

export const POST = withApi(
  async ({ req, actor }) => {
    const saved = await createSavedSearch(actor, await parseJsonBody(req, z.unknown(), 16 * 1024));
    return Response.json({ savedSearch: saved }, { status: 201, headers: { Location: `/api/saved-searches/${saved.id}`, 'Cache-Control': 'no-store' } });
  },
  { scope: 'studies:write' },
);
