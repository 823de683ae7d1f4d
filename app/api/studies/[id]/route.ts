import { z } from 'zod';
import { notFound } from '@/lib/api/errors';
import { parseJsonBody, studyTarget, withApi } from '@/lib/api/route';
import { updateStudyWorkflow, WORKFLOW_ROLES } from '@/lib/studies/workflow';
import { loadChangedStudy, loadStudy } from '@/lib/studies/worklist';

export const dynamic = 'force-dynamic';

const params = z.object({ id: z.string().uuid() });

export const GET = withApi(
  async ({ params, actor }) => {
    const study = await loadStudy(actor, params.id);
    if (!study) throw notFound('No such study');
    return { study };
  },
  { params, action: 'study.read', scope: 'studies:read', target: studyTarget },
);

/** Workflow changes: `{ assigneeId?, priority?, expectedAssigneeId? }`; status is not settable. Answers the whole study. */
export const PATCH = withApi(
  async ({ req, params, actor }) => {
    const body = await parseJsonBody(req, z.unknown(), 16 * 1024);
    await updateStudyWorkflow(actor, params.id, body);
    // The whole study, as GET answers it: clients need not merge a partial answer into what they hold.
    const study = await loadChangedStudy(params.id);
    if (!study) throw notFound('No such study');
    return { study };
  },
  { params, roles: WORKFLOW_ROLES, action: 'study.update', scope: 'studies:write', target: studyTarget },
);
