import { z } from 'zod';
import { studyTarget, withApi } from '@/lib/api/route';
import { loadStudyAuditTrail, parseStudyAuditQuery } from '@/lib/studies/audit-trail';

export const dynamic = 'force-dynamic';

export const GET = withApi(
  async ({ req, params, actor }) => {
    const query = parseStudyAuditQuery(Object.fromEntries(new URL(req.url).searchParams));
    const trail = await loadStudyAuditTrail(actor, params.id, query);
    return { entries: trail.entries, page: trail.page, pageSize: trail.pageSize, total: trail.total, actions: trail.actions };
  },
  { params: z.object({ id: z.string().uuid() }), roles: ['admin'], action: 'study.audit', scope: 'admin', target: studyTarget },
);
