import { z } from 'zod';
import { notFound } from '@/lib/api/errors';
import { studyTarget, withApi } from '@/lib/api/route';
import { requestProcessing } from '@/lib/imaging/processing';
import { UPLOAD_ROLES } from '@/lib/ingest/uploads';
import { studyExists } from '@/lib/studies/worklist';

export const dynamic = 'force-dynamic';

/** (Re)processes a study as a durable job: 202 with the job, which GET /api/jobs/{id} reports on. */
export const POST = withApi(
  async ({ params, principal, actor }) => {
    if (!(await studyExists(actor, params.id, 'study.process'))) throw notFound('No such study');
    const job = await requestProcessing(params.id, principal.kind === 'user' ? principal.id : null);
    return Response.json({ jobId: job.id, status: job.status, progress: job.progress }, { status: 202, headers: { Location: `/api/jobs/${job.id}` } });
  },
  { params: z.object({ id: z.string().uuid() }), roles: UPLOAD_ROLES, action: 'study.process', scope: 'studies:write', target: studyTarget },
);
