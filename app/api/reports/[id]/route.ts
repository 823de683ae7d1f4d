import { z } from 'zod';
import { withApi } from '@/lib/api/route';
import { getReport } from '@/lib/ai/reports';

export const dynamic = 'force-dynamic';

export const GET = withApi(async ({ params, actor }) => ({ report: await getReport(actor, params.id) }), {
  params: z.object({ id: z.uuid() }),
  action: 'report.read',
  scope: 'reports',
});
