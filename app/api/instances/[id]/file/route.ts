import { z } from 'zod';
import { withApi } from '@/lib/api/route';
import { instanceFileQuerySchema, loadInstanceFile } from '@/lib/studies/instance-file';

export const dynamic = 'force-dynamic';

export const GET = withApi(
  async ({ req, params, actor }) => {
    const query = instanceFileQuerySchema.parse(Object.fromEntries(new URL(req.url).searchParams));
    const original = query.original === 'true';
    const { bytes, filename, contentType } = await loadInstanceFile(actor, params.id, { original, timePoint: query.t });
    return new Response(new Uint8Array(bytes), {
      headers: {
        'Content-Type': contentType,
        'Content-Disposition': `${original ? 'attachment' : 'inline'}; filename="${filename}"`,
        'Cache-Control': 'private, max-age=3600',
      },
    });
  },
  { params: z.object({ id: z.string().uuid() }), scope: 'studies:read' },
);
