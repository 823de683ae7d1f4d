import { z } from 'zod';
import { withApi } from '@/lib/api/route';
import { loadInstanceTags } from '@/lib/studies/instance-file';

export const dynamic = 'force-dynamic';

export const GET = withApi(async ({ params, actor }) => ({ elements: await loadInstanceTags(actor, params.id) }), {
  params: z.object({ id: z.string().uuid() }),
  scope: 'studies:read',
});
