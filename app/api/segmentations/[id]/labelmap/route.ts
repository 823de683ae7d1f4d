import { Readable } from 'node:stream';
import { z } from 'zod';
import { withApi } from '@/lib/api/route';
import { labelMapFile } from '@/lib/segmentation/service';

export const dynamic = 'force-dynamic';

/** The label map as NIfTI-1 (uint8, the series' grid and world matrix); label values as in the structure table. */
export const GET = withApi(
  async ({ params, actor }) => {
    const { stream, size, filename } = await labelMapFile(actor, params.id);
    return new Response(Readable.toWeb(stream) as ReadableStream, {
      headers: {
        'Content-Type': 'application/octet-stream',
        'Content-Length': String(size),
        'Content-Disposition': `attachment; filename="${filename}"`,
        'Cache-Control': 'private, max-age=3600',
      },
    });
  },
  { params: z.object({ id: z.string().uuid() }), action: 'segmentation.download', scope: 'segmentation' },
);
