import { z } from 'zod';
import { notFound } from '@/lib/api/errors';
import { withApi } from '@/lib/api/route';
import { loadStudy } from '@/lib/studies/worklist';

export const dynamic = 'force-dynamic';

export const GET = withApi(
  async ({ params, actor }) => {
    const study = await loadStudy(actor, params.id);
    if (!study) throw notFound('No such study');
    return { study };
  },
  { params: z.object({ id: z.string().uuid() }), scope: 'studies:read' },
);
