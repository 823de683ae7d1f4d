import { z } from 'zod';
import { withApi } from '@/lib/api/route';
import { overlayQuerySchema, renderOverlay } from '@/lib/segmentation/service';

export const dynamic = 'force-dynamic';

/** One slice of the label map as an RGBA PNG aligned with the image: ?slice=N (0-based) or ?sop=UID, optional labels=1,2. */
export const GET = withApi(
  async ({ req, params, actor }) => {
    const query = overlayQuerySchema.parse(Object.fromEntries(new URL(req.url).searchParams));
    const { body, headers } = await renderOverlay(actor, params.id, query);
    return new Response(new Uint8Array(body), { headers });
  },
  { params: z.object({ id: z.string().uuid() }), action: 'segmentation.overlay', scope: 'segmentation' },
);
