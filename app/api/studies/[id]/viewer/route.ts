import { z } from 'zod';
import { notFound } from '@/lib/api/errors';
import { studyTarget, withApi } from '@/lib/api/route';
import { loadViewerStudy } from '@/lib/studies/viewer';

export const dynamic = 'force-dynamic';

export const GET = withApi(
  async ({ params, actor }) => {
    const view = await loadViewerStudy(actor, params.id);
    if (!view) throw notFound('No such study');
    return { study: view.study, series: view.series };
  },
  { params: z.object({ id: z.string().uuid() }), action: 'study.view', scope: 'studies:read', target: studyTarget },
);
