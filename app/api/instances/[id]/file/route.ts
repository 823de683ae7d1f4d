import { z } from 'zod';
import { withApi } from '@/lib/api/route';
import { loadInstanceFile } from '@/lib/studies/instance-file';

export const dynamic = 'force-dynamic';

export const GET = withApi(
  async ({ req, params, actor }) => {
    const original = new URL(req.url).searchParams.get('original') === 'true';
    const { bytes, filename } = await loadInstanceFile(actor, params.id, { original });
    return new Response(new Uint8Array(bytes), {
      headers: {
        'Content-Type': 'application/dicom',
        'Content-Disposition': `${original ? 'attachment' : 'inline'}; filename="${filename}"`,
        'Cache-Control': 'private, max-age=3600',
      },
    });
  },
  { params: z.object({ id: z.string().uuid() }), scope: 'studies:read' },
);
