import { z } from 'zod';
import { notFound } from '@/lib/api/errors';
import { withApi } from '@/lib/api/route';
import { getJob } from '@/lib/jobs';

export const dynamic = 'force-dynamic';

export const GET = withApi(
  async ({ params }) => {
    const job = await getJob(params.id);
    if (!job) throw notFound('No such job');
    return {
      id: job.id,
      kind: job.kind,
      status: job.status,
      progress: job.progress,
      attempts: job.attempts,
      maxAttempts: job.maxAttempts,
      error: job.error,
      result: job.result,
      studyId: job.studyId,
      createdAt: job.createdAt,
      finishedAt: job.finishedAt,
    };
  },
  { params: z.object({ id: z.string().uuid() }), scope: 'studies:read' },
);
