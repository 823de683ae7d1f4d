import { withApi } from '@/lib/api/route';
import { describeEngines } from '@/lib/segmentation/engines';

export const dynamic = 'force-dynamic';

/** The engines, whether each can run on this server, and what it takes. */
export const GET = withApi(async () => ({ engines: await describeEngines() }), { scope: 'segmentation' });
