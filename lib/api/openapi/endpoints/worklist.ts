import { z } from 'zod';
import type { SavedSearchView } from '@/lib/studies/saved-searches';
import { newSavedSearchSchema, savedSearchChangeSchema } from '@/lib/studies/saved-searches';
import { studyAuditParamsSchema, type loadStudyAuditTrail } from '@/lib/studies/audit-trail';
import { studyChangeSchema, WORKFLOW_ROLES } from '@/lib/studies/workflow';
import type { loadStudy, searchStudies } from '@/lib/studies/worklist';
import { defineEndpoints, type Assert, type Fits } from '../registry';
import {
  assigneeListSchema,
  savedSearchListSchema,
  savedSearchResponseSchema,
  savedSearchSchema,
  studyAuditTrailSchema,
  studyDetailSchema,
  studySummarySchema,
} from '../schemas';

const id = z.object({ id: z.uuid() });
const write = { scope: 'studies:write' } as const;
/** JSON bodies: not JSON (415), over the handler's limit (413). */
const jsonBodyErrors = [413, 415];

// What the lib functions return must fit the schemas the handlers answer with.
export type _WorklistSchemasFit = [
  Assert<Fits<typeof studySummarySchema, Awaited<ReturnType<typeof searchStudies>>['rows'][number]>>,
  Assert<Fits<typeof studyDetailSchema.shape.study, NonNullable<Awaited<ReturnType<typeof loadStudy>>>>>,
  Assert<Fits<typeof savedSearchSchema, SavedSearchView>>,
  Assert<Fits<typeof studyAuditTrailSchema, Awaited<ReturnType<typeof loadStudyAuditTrail>>>>,
];

export const worklistEndpoints = defineEndpoints([
  {
    method: 'patch',
    path: '/api/studies/{id}',
    operationId: 'updateStudyWorkflow',
    summary: 'Assign, reassign or unassign a study, or change its priority (audited as study.update)',
    description:
      'assigneeId (an active radiologist or administrator, or null to unassign) is for admin and radiologist only; priority also for clinicians. expectedAssigneeId makes the change conditional: 409 when the assignee is no longer that user (null: unassigned). status is refused with 400: it follows the work done. Giving the values the study already has changes and records nothing.',
    tags: ['worklist'],
    auth: { roles: WORKFLOW_ROLES, scope: 'studies:write' },
    params: id,
    body: { schema: studyChangeSchema, description: 'At least one of assigneeId and priority' },
    responses: { 200: { description: 'The whole study after the change, as GET /api/studies/{id} answers it', schema: studyDetailSchema } },
    errors: [409, ...jsonBodyErrors],
  },
  {
    method: 'get',
    path: '/api/assignees',
    operationId: 'listAssignees',
    summary: 'Who studies can be assigned to (assigneeId of PATCH /api/studies/{id})',
    tags: ['worklist'],
    auth: { scope: 'studies:read' },
    responses: { 200: { description: 'The assignable users', schema: assigneeListSchema } },
  },
  {
    method: 'get',
    path: '/api/studies/{id}/audit',
    operationId: 'getStudyAuditTrail',
    summary: 'The study\u2019s audit trail, newest first (itself audited as study.audit)',
    tags: ['worklist'],
    auth: { roles: ['admin'], scope: 'admin' },
    params: id,
    query: studyAuditParamsSchema,
    responses: { 200: { description: 'A page of audit entries', schema: studyAuditTrailSchema } },
  },
  {
    method: 'get',
    path: '/api/saved-searches',
    operationId: 'listSavedSearches',
    summary: 'The caller\u2019s saved worklist searches',
    tags: ['worklist'],
    auth: { scope: 'studies:read' },
    responses: { 200: { description: 'The saved searches', schema: savedSearchListSchema } },
  },
  {
    method: 'post',
    path: '/api/saved-searches',
    operationId: 'createSavedSearch',
    summary: 'Save worklist filters under a name (audited as saved_search.create)',
    description: 'Names are unique per owner, ignoring case (409); at most 100 per owner (409). Lists (status, priority) may be arrays or comma-separated.',
    tags: ['worklist'],
    auth: write,
    body: { schema: newSavedSearchSchema },
    responses: { 201: { description: 'Created', schema: savedSearchResponseSchema, headers: { Location: 'The saved search: /api/saved-searches/{id}' } } },
    errors: [409, ...jsonBodyErrors],
  },
  {
    method: 'get',
    path: '/api/saved-searches/{id}',
    operationId: 'getSavedSearch',
    summary: 'One of the caller\u2019s saved searches (another owner\u2019s is a 404)',
    tags: ['worklist'],
    auth: { scope: 'studies:read' },
    params: id,
    responses: { 200: { description: 'The saved search', schema: savedSearchResponseSchema } },
  },
  {
    method: 'patch',
    path: '/api/saved-searches/{id}',
    operationId: 'updateSavedSearch',
    summary: 'Rename a saved search or replace its filters (audited as saved_search.update)',
    tags: ['worklist'],
    auth: write,
    params: id,
    body: { schema: savedSearchChangeSchema, description: 'At least one of name and filters; filters replace the saved ones whole' },
    responses: { 200: { description: 'The saved search after the change', schema: savedSearchResponseSchema } },
    errors: [409, ...jsonBodyErrors],
  },
  {
    method: 'delete',
    path: '/api/saved-searches/{id}',
    operationId: 'deleteSavedSearch',
    summary: 'Delete a saved search (audited as saved_search.delete)',
    tags: ['worklist'],
    auth: write,
    params: id,
    responses: { 204: { description: 'Deleted' } },
  },
]);
