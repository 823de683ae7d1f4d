import { z } from 'zod';
import { notFound } from '@/lib/api/errors';
import { withApi } from '@/lib/api/route';
import { getSegmentation } from '@/lib/segmentation/service';

export const dynamic = 'force-dynamic';

export const GET = withApi(
  async ({ params, actor }) => {
    const segmentation = await getSegmentation(actor, params.id);
    if (!segmentation) throw notFound('No such segmentation');
    return { segmentation };
  },
  { params: z.object({ id: z.string().uuid() }), action: 'segmentation.read', scope: 'segmentation' },
);
