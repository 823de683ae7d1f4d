import { z } from 'zod';
import { notFound } from '@/lib/api/errors';
import { parseJsonBody, studyTarget, withApi } from '@/lib/api/route';
import { segmentationRequestSchema } from '@/lib/segmentation/engines';
import { listSegmentations, requestSegmentation, SEGMENTATION_ROLES } from '@/lib/segmentation/service';

export const dynamic = 'force-dynamic';

const params = z.object({ id: z.string().uuid() });

/** Segments a series as a durable job: 202 with the segmentation (queued) and its job. */
export const POST = withApi(
  async ({ req, params, actor }) => {
    const body = await parseJsonBody(req, segmentationRequestSchema);
    const outcome = await requestSegmentation(actor, params.id, body);
    if (!outcome) throw notFound('No such study');
    const { segmentation } = outcome;
    return Response.json(
      { segmentation, jobId: segmentation.jobId, created: outcome.created },
      { status: 202, headers: { Location: `/api/segmentations/${segmentation.id}`, 'Cache-Control': 'no-store' } },
    );
  },
  { params, roles: SEGMENTATION_ROLES, action: 'segmentation.request', scope: 'segmentation', target: studyTarget },
);

export const GET = withApi(
  async ({ params, actor }) => {
    const segmentations = await listSegmentations(actor, params.id);
    if (!segmentations) throw notFound('No such study');
    return { segmentations };
  },
  { params, action: 'segmentation.list', scope: 'segmentation', target: studyTarget },
);
