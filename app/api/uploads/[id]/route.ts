import { z } from 'zod';
import { withApi } from '@/lib/api/route';
import { getUploadStatus, UPLOAD_ROLES } from '@/lib/ingest/uploads';
import { receivedBytes } from '@/lib/ingest/tus-server';

export const dynamic = 'force-dynamic';

export const GET = withApi(async ({ params, principal, actor }) => getUploadStatus(principal, actor, params.id, receivedBytes), {
  params: z.object({ id: z.string().uuid() }),
  // Only roles that upload have uploads to look at.
  roles: UPLOAD_ROLES,
  action: 'upload.status',
  scope: 'studies:write',
});
