import { getDb, type Executor } from '@/db';
import { appendAuditEntry, insertAuditEntry, type StatementAudit } from '@/db/queries/audit';
import type { AuditEntry, NewAuditEntry } from '@/db/schema';
import { outcomeIndicatorOf, ps315EventOf, type EventOutcomeIndicator } from './events';

/** Who did something, from where; derived from a session or an API token. */
export interface Actor {
  userId?: string | null;
  email?: string | null;
  role?: string | null;
  tokenId?: string | null;
  clientAddress?: string | null;
  userAgent?: string | null;
}

export type AuditOutcome = 'success' | 'failure' | 'denied';

export interface AuditEvent {
  /** Dotted verb, e.g. `auth.sign_in`, `study.read`, `instance.image`. */
  action: string;
  outcome: AuditOutcome;
  patientId?: string | null;
  studyId?: string | null;
  resourceType?: string | null;
  resourceId?: string | null;
  details?: Record<string, unknown>;
  /** PS3.15 EventOutcomeIndicator when the outcome alone does not say it (12: the platform failed). */
  outcomeIndicator?: EventOutcomeIndicator;
}

function entryOf(actor: Actor, event: AuditEvent): NewAuditEntry {
  return {
    action: event.action,
    outcome: event.outcome,
    userId: actor.userId ?? null,
    userEmail: actor.email ?? null,
    role: actor.role ?? null,
    tokenId: actor.tokenId ?? null,
    clientAddress: actor.clientAddress ?? null,
    userAgent: actor.userAgent ?? null,
    patientId: event.patientId ?? null,
    studyId: event.studyId ?? null,
    resourceType: event.resourceType ?? null,
    resourceId: event.resourceId ?? null,
    details: event.details ?? {},
    ...ps315EventOf(event.action),
    eventOutcomeIndicator: event.outcomeIndicator ?? outcomeIndicatorOf(event.outcome, event.details),
  };
}

export async function recordAudit(actor: Actor, event: AuditEvent, db?: Executor): Promise<AuditEntry> {
  return insertAuditEntry(db ?? (await getDb()), entryOf(actor, event));
}

/** recordAudit without the written row handed back: the cheaper statement for every data access. */
async function appendAudit(actor: Actor, event: AuditEvent): Promise<void> {
  await appendAuditEntry(await getDb(), entryOf(actor, event));
}

export interface PatientDataAccess<T> {
  action: string;
  resourceType: string;
  resourceId?: string | null;
  patientId?: string | null;
  studyId?: string | null;
  /** Fills in patient/study once the data is loaded, when the caller only knew a resource id. */
  describe?: (result: NonNullable<T>) => { patientId?: string | null; studyId?: string | null };
}

/**
 * Runs `load` and records the access. The audit row is written before the data is returned,
 * so a caller never receives patient data whose access went unrecorded: if the row cannot be
 * written, the access fails.
 */
export async function auditPatientAccess<T>(actor: Actor, access: PatientDataAccess<T>, load: () => Promise<T>): Promise<T> {
  const base = {
    action: access.action,
    resourceType: access.resourceType,
    resourceId: access.resourceId ?? null,
    patientId: access.patientId ?? null,
    studyId: access.studyId ?? null,
  };
  let result: T;
  try {
    result = await load();
  } catch (error) {
    const reason = error instanceof Error ? error.name : 'error';
    const code = (error as { code?: unknown }).code;
    const status = (error as { status?: unknown }).status;
    await recordAudit(actor, {
      ...base,
      outcome: status === 403 ? 'denied' : 'failure',
      // Anything but a deliberate 4xx refusal is the platform failing: a major failure.
      ...(typeof status === 'number' && status < 500 ? {} : { outcomeIndicator: 12 as const }),
      details: { reason, ...(typeof code === 'string' ? { code } : {}) },
    }).catch((auditError) => console.error('[audit] could not record failed access', auditError));
    throw error;
  }
  if (result === undefined || result === null) {
    await appendAudit(actor, { ...base, outcome: 'failure', details: { reason: 'not_found' } });
    return result;
  }
  await appendAudit(actor, { ...base, ...access.describe?.(result as NonNullable<T>), outcome: 'success' });
  return result;
}

export type { StatementAudit };

/**
 * auditPatientAccess for a lookup that writes its own audit row in the same SQL statement (one
 * round trip and one commit instead of two on every image): `load` gets the row's columns and
 * must record success with the patient when it finds the data and failure ({ reason:
 * 'not_found' }) when it does not, as auditPatientAccess would. When the statement fails,
 * nothing was written by it, and the failure is recorded here.
 */
export async function auditPatientAccessInStatement<T>(
  actor: Actor,
  access: Pick<PatientDataAccess<T>, 'action' | 'resourceType' | 'resourceId' | 'studyId'>,
  load: (audit: StatementAudit) => Promise<T>,
): Promise<T> {
  const entry = entryOf(actor, { action: access.action, outcome: 'success', resourceType: access.resourceType, resourceId: access.resourceId ?? null });
  const audit: StatementAudit = {
    action: entry.action,
    userId: entry.userId ?? null,
    userEmail: entry.userEmail ?? null,
    role: entry.role ?? null,
    tokenId: entry.tokenId ?? null,
    clientAddress: entry.clientAddress ?? null,
    userAgent: entry.userAgent ?? null,
    resourceType: access.resourceType,
    resourceId: access.resourceId ?? null,
    eventId: entry.eventId!,
    eventTypeCode: entry.eventTypeCode ?? null,
    eventActionCode: entry.eventActionCode!,
    outcomeIndicatorFound: outcomeIndicatorOf('success'),
    outcomeIndicatorMissing: outcomeIndicatorOf('failure', { reason: 'not_found' }),
  };
  try {
    return await load(audit);
  } catch (error) {
    // As auditPatientAccess records a load that throws.
    const code = (error as { code?: unknown }).code;
    const status = (error as { status?: unknown }).status;
    await recordAudit(actor, {
      action: access.action,
      resourceType: access.resourceType,
      resourceId: access.resourceId ?? null,
      studyId: access.studyId ?? null,
      outcome: status === 403 ? 'denied' : 'failure',
      ...(typeof status === 'number' && status < 500 ? {} : { outcomeIndicator: 12 as const }),
      details: { reason: error instanceof Error ? error.name : 'error', ...(typeof code === 'string' ? { code } : {}) },
    }).catch((auditError) => console.error('[audit] could not record failed access', auditError));
    throw error;
  }
}
