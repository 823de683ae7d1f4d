import { z } from 'zod';
import { studyTarget, withApi } from '@/lib/api/route';
import { parseImageQuery } from '@/lib/imaging/image-query';
import { renderStudyImage } from '@/lib/imaging/service';

export const dynamic = 'force-dynamic';

export const GET = withApi(
  async ({ req, params, actor }) => {
    const query = parseImageQuery(new URL(req.url).searchParams);
    const result = await renderStudyImage(actor, params.id, query, req.headers.get('if-none-match'));
    return new Response(result.body ? new Uint8Array(result.body) : null, { status: result.status, headers: result.headers });
  },
  { params: z.object({ id: z.string().uuid() }), action: 'study.image', scope: 'studies:read', target: studyTarget },
);
