import { withPublicApi } from '@/lib/api/route';
import { openApiDocument } from '@/lib/api/openapi/document';

export const dynamic = 'force-dynamic';

/** Public: the description of the API holds no patient data (see README, API). */
export const GET = withPublicApi(async () => Response.json(openApiDocument(), { headers: { 'Cache-Control': 'public, max-age=300' } }));
