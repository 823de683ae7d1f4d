import { withApi } from '@/lib/api/route';
import { exportTrail, parseAuditTrailQuery, searchTrail } from '@/lib/audit/trail';

export const dynamic = 'force-dynamic';

export const GET = withApi(
  async ({ req, actor }) => {
    const query = parseAuditTrailQuery(Object.fromEntries(new URL(req.url).searchParams));
    if (!query.format) return searchTrail(actor, query);
    const { stream, contentType, filename } = await exportTrail(actor, { ...query, format: query.format });
    return new Response(stream, {
      headers: { 'Content-Type': contentType, 'Content-Disposition': `attachment; filename="${filename}"`, 'Cache-Control': 'no-store' },
    });
  },
  { roles: ['admin'], action: 'audit.search', scope: 'admin' },
);
