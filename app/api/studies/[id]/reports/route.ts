import { z } from 'zod';
import { notFound } from '@/lib/api/errors';
import { withApi } from '@/lib/api/route';
import { listReports } from '@/lib/ai/reports';

export const dynamic = 'force-dynamic';

/** The study's reports, newest first; drafts only for radiologists and administrators. */
export const GET = withApi(
  async ({ params, actor }) => {
    const reports = await listReports(actor, params.id);
    if (!reports) throw notFound('No such study');
    return { reports };
  },
  { params: z.object({ id: z.uuid() }), action: 'report.list', scope: 'reports' },
);
