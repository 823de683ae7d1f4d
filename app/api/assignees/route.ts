import { withApi } from '@/lib/api/route';
import { assignableUsers } from '@/lib/studies/workflow';

export const dynamic = 'force-dynamic';

/** Who studies can be assigned to (PATCH /api/studies/{id} `assigneeId`). */
export const GET = withApi(async () => ({ assignees: await assignableUsers() }), { scope: 'studies:read' });
