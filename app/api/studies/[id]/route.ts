import { z } from 'zod';
import { notFound } from '@/lib/api/errors';
import { parseJsonBody, withApi } from '@/lib/api/route';
import { updateStudyWorkflow, WORKFLOW_ROLES } from '@/lib/studies/workflow';
import { loadStudy } from '@/lib/studies/worklist';

export const dynamic = 'force-dynamic';

const params = z.object({ id: z.string().uuid() });

export const GET = withApi(
  async ({ params, actor }) => {
    const study = await loadStudy(actor, params.id);
    if (!study) throw notFound('No such study');
    return { study };
  },
  { params, scope: 'studies:read' },
);

/** Workflow changes: `{ assigneeId?, priority?, expectedAssigneeId? }`; status is not settable. */
export const PATCH = withApi(
  async ({ req, params, actor }) => {
    const body = await parseJsonBody(req, z.unknown(), 16 * 1024);
    return { study: await updateStudyWorkflow(actor, params.id, body) };
  },
  { params, roles: WORKFLOW_ROLES, action: 'study.update', scope: 'studies:write' },
);
