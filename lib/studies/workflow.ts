import { z } from 'zod';
import { getDb } from '@/db';
import { findAssignee, getStudyWorkflow, listAssignees, lockStudyWorkflow, setStudyWorkflow } from '@/db/queries/studies';
import { ApiError, badRequest, conflict, forbidden, notFound } from '@/lib/api/errors';
import { recordAudit, type Actor } from '@/lib/audit';
import type { UserRole } from '@/lib/auth/roles';
import { requestProcessing } from '@/lib/imaging/processing';
import { UPLOAD_ROLES } from '@/lib/ingest/uploads';
import { STUDY_PRIORITIES } from './query';
import { studyExists } from './worklist';

/**
 * Who may change what (README, "Worklist and workflow"):
 * - assignee (assign, reassign, unassign): admin and radiologist, who read studies;
 * - priority: admin, radiologist and clinician (the referring side escalates urgency);
 * - viewer: nothing.
 * Status is never set by hand: it follows the work done (processing, AI analysis, a final report).
 */
export const ASSIGN_ROLES = ['admin', 'radiologist'] as const satisfies readonly UserRole[];
export const PRIORITY_ROLES = ['admin', 'radiologist', 'clinician'] as const satisfies readonly UserRole[];
export const WORKFLOW_ROLES = PRIORITY_ROLES;

export function canAssign(role: string | null | undefined): boolean {
  return (ASSIGN_ROLES as readonly string[]).includes(role ?? '');
}

export function canPrioritise(role: string | null | undefined): boolean {
  return (PRIORITY_ROLES as readonly string[]).includes(role ?? '');
}

export const STATUS_IS_AUTOMATIC =
  'status cannot be set by hand: it follows the workflow (processed after processing, analysed after an AI result, reported once a report is final)';

export const studyChangeSchema = z
  .strictObject({
    assigneeId: z.string().uuid().nullable().optional(),
    priority: z.enum(STUDY_PRIORITIES).optional(),
    /** Refused (see STATUS_IS_AUTOMATIC); declared so the refusal can say why. */
    status: z.unknown().optional().describe('Refused (400): status follows the workflow and is never set by hand'),
    /**
     * Optimistic check: the change applies only while the study is still assigned to this user
     * (null: unassigned), so two radiologists claiming one study cannot both get it.
     */
    expectedAssigneeId: z.string().uuid().nullable().optional(),
  })
  .refine((c) => c.assigneeId !== undefined || c.priority !== undefined || c.status !== undefined, 'Nothing to change: give assigneeId or priority');
export type StudyChange = z.input<typeof studyChangeSchema>;

export type StudyWorkflow = NonNullable<Awaited<ReturnType<typeof getStudyWorkflow>>>;

/**
 * Changes a study's assignee and/or priority. Every attempt is audited (`study.update`): changes
 * with their old and new values in the same transaction as the change, refusals as denied or
 * failed. Changing nothing (the values it already has) changes and records nothing.
 */
export async function updateStudyWorkflow(actor: Actor, studyId: string, input: unknown): Promise<StudyWorkflow> {
  const db = await getDb();
  const audit = { action: 'study.update', resourceType: 'study', resourceId: studyId, studyId: z.string().uuid().safeParse(studyId).success ? studyId : null };
  let patientId: string | null = null;
  try {
    const change = studyChangeSchema.parse(input);
    if (change.status !== undefined) throw badRequest(STATUS_IS_AUTOMATIC);
    if (change.assigneeId !== undefined && !canAssign(actor.role)) throw forbidden('Only radiologists and administrators assign studies');
    if (change.priority !== undefined && !canPrioritise(actor.role)) throw forbidden('Your role may not change study priority');
    if (!audit.studyId) throw notFound('No such study');
    return await db.transaction(async (tx) => {
      const current = await lockStudyWorkflow(tx, studyId);
      if (!current) throw notFound('No such study');
      patientId = current.patientId;
      if (change.expectedAssigneeId !== undefined && change.expectedAssigneeId !== current.assigneeId) {
        throw conflict('The assignee was changed by someone else meanwhile; reload and try again');
      }
      if (change.assigneeId && change.assigneeId !== current.assigneeId && !(await findAssignee(tx, change.assigneeId))) {
        throw new ApiError(400, 'validation_error', 'assigneeId must be an active radiologist or administrator');
      }
      const changes: Record<string, { from: unknown; to: unknown }> = {};
      if (change.assigneeId !== undefined && change.assigneeId !== current.assigneeId) changes.assigneeId = { from: current.assigneeId, to: change.assigneeId };
      if (change.priority !== undefined && change.priority !== current.priority) changes.priority = { from: current.priority, to: change.priority };
      if (Object.keys(changes).length > 0) {
        await setStudyWorkflow(tx, studyId, {
          ...(changes.assigneeId ? { assigneeId: change.assigneeId } : {}),
          ...(changes.priority ? { priority: change.priority } : {}),
        });
        await recordAudit(actor, { ...audit, patientId, outcome: 'success', details: { changes } }, tx);
      }
      return (await getStudyWorkflow(tx, studyId))!;
    });
  } catch (error) {
    const status = error instanceof ApiError ? error.status : error instanceof z.ZodError ? 400 : null;
    if (status !== null) {
      await recordAudit(actor, {
        ...audit,
        patientId,
        outcome: status === 403 ? 'denied' : 'failure',
        details: { code: error instanceof ApiError ? error.code : 'validation_error', input: summariseInput(input) },
      });
    }
    throw error;
  }
}

/** The requested change for the audit row, without echoing arbitrary client input. */
function summariseInput(input: unknown): Record<string, unknown> {
  if (!input || typeof input !== 'object') return {};
  const keys = Object.keys(input).slice(0, 10);
  const out: Record<string, unknown> = { keys };
  for (const key of ['assigneeId', 'priority', 'status', 'expectedAssigneeId']) {
    const value = (input as Record<string, unknown>)[key];
    if (value === null || (typeof value === 'string' && value.length <= 64)) out[key] = value;
  }
  return out;
}

/** Who studies can be assigned to: active radiologists and administrators. */
export async function assignableUsers() {
  return listAssignees(await getDb());
}

export function canReprocess(role: string | null | undefined): boolean {
  return (UPLOAD_ROLES as readonly string[]).includes(role ?? '');
}

/** Queues (or joins the queued) processing of a study, for the same roles as POST /api/process/{id}. */
export async function reprocessStudy(actor: Actor, studyId: string) {
  if (!canReprocess(actor.role)) {
    await recordAudit(actor, { action: 'study.process', outcome: 'denied', resourceType: 'study', resourceId: studyId, details: { reason: 'role' } });
    throw forbidden('Your role may not process studies');
  }
  if (!z.string().uuid().safeParse(studyId).success || !(await studyExists(actor, studyId, 'study.process'))) throw notFound('No such study');
  return requestProcessing(studyId, actor.userId ?? null);
}
