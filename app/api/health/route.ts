import { withPublicApi } from '@/lib/api/route';
import { checkHealth } from '@/lib/api/health';

export const dynamic = 'force-dynamic';

export const GET = withPublicApi(async () => checkHealth());
