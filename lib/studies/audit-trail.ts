import { z } from 'zod';
import { getDb } from '@/db';
import { findStudy } from '@/db/queries/studies';
import { listStudyAudit, listStudyAuditActions } from '@/db/queries/study-audit';
import { auditOutcome } from '@/db/schema';
import { forbidden, notFound } from '@/lib/api/errors';
import { auditPatientAccess, recordAudit, type Actor } from '@/lib/audit';

export const AUDIT_OUTCOMES = auditOutcome.enumValues;

/** A day (YYYY-MM-DD, UTC) or an ISO 8601 instant. */
const instant = z.union([z.iso.date(), z.iso.datetime({ offset: true })]);

/** The query string of GET /api/studies/{id}/audit as given (what the OpenAPI document lists). */
export const studyAuditParamsSchema = z.object({
  page: z.coerce.number().int().min(1).max(100_000).default(1),
  pageSize: z.coerce.number().int().min(1).max(200).default(25),
  action: z.string().trim().regex(/^[a-z][a-z0-9_.:-]{0,63}$/i, 'must be an audit action such as study.read').optional(),
  outcome: z.enum(AUDIT_OUTCOMES).optional(),
  actor: z.string().trim().min(1).max(254).optional().describe("Part of the actor's email, or a user or token id"),
  from: instant.optional().describe('From this day (YYYY-MM-DD, UTC) or instant (ISO 8601), inclusive'),
  to: instant.optional().describe('Up to this day (the whole day) or instant, exclusive'),
});

export const studyAuditQuerySchema = studyAuditParamsSchema
  .transform((q) => ({
    ...q,
    from: q.from ? new Date(q.from) : undefined,
    // A day given as `to` includes that whole day.
    to: q.to ? new Date(q.to.length === 10 ? Date.parse(q.to) + 86_400_000 : Date.parse(q.to)) : undefined,
  }))
  .refine((q) => !q.from || !q.to || q.from < q.to, { message: 'from must be before to', path: ['from'] });

export type StudyAuditQuery = z.output<typeof studyAuditQuerySchema>;

export function parseStudyAuditQuery(raw: Record<string, string | undefined>): StudyAuditQuery {
  return studyAuditQuerySchema.parse(Object.fromEntries(Object.entries(raw).filter(([, v]) => v !== undefined && v !== '')));
}

/**
 * One study's audit trail, for administrators only. The trail names who looked at a patient's
 * data, so reading it is itself an access to patient data and is audited (`study.audit`).
 */
export async function loadStudyAuditTrail(actor: Actor, studyId: string, query: StudyAuditQuery) {
  if (actor.role !== 'admin') {
    await recordAudit(actor, { action: 'study.audit', outcome: 'denied', resourceType: 'study', resourceId: studyId, details: { reason: 'role' } });
    throw forbidden('Only administrators can read the audit trail');
  }
  if (!z.string().uuid().safeParse(studyId).success) throw notFound('No such study');
  const result = await auditPatientAccess(
    actor,
    { action: 'study.audit', resourceType: 'study', resourceId: studyId, studyId, describe: (r) => ({ patientId: r.patientId }) },
    async () => {
      const db = await getDb();
      const study = await findStudy(db, studyId);
      if (!study) return null;
      const { page, pageSize, ...filter } = query;
      const [{ rows, total }, actions] = await Promise.all([
        listStudyAudit(db, studyId, { ...filter, limit: pageSize, offset: (page - 1) * pageSize }),
        listStudyAuditActions(db, studyId),
      ]);
      return { patientId: study.patientId, entries: rows, total, page, pageSize, actions };
    },
  );
  if (!result) throw notFound('No such study');
  const { patientId: _patient, ...trail } = result;
  return trail;
}
