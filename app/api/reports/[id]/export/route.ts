import { z } from 'zod';
import { withApi } from '@/lib/api/route';
import { exportReport, reportExportQuerySchema } from '@/lib/ai/reports';

export const dynamic = 'force-dynamic';

/** The report as PDF (default) or plain text, with its signature state and the AI notice. */
export const GET = withApi(
  async ({ req, params, actor }) => {
    const { format } = reportExportQuerySchema.parse(Object.fromEntries(new URL(req.url).searchParams));
    const file = await exportReport(actor, params.id, format);
    return new Response(new Uint8Array(file.body), {
      headers: {
        'Content-Type': file.contentType,
        'Content-Length': String(file.body.length),
        'Content-Disposition': `attachment; filename="${file.filename}"`,
        'Cache-Control': 'private, no-store',
      },
    });
  },
  { params: z.object({ id: z.uuid() }), action: 'report.export', scope: 'reports' },
);
