import { and, asc, count, desc, eq, gte, ilike, lt, or, type SQL } from 'drizzle-orm';
import type { Executor } from '../index';
import { auditLog, type AuditEntry } from '../schema';
import { escapeLike } from './studies';

export interface StudyAuditFilter {
  action?: string;
  outcome?: AuditEntry['outcome'];
  /** Part of the actor's email (case-insensitive), or an exact user/token id. */
  actor?: string;
  from?: Date;
  /** Exclusive. */
  to?: Date;
  limit: number;
  offset: number;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** One study's audit trail, newest first, one page of it and the total. */
export async function listStudyAudit(db: Executor, studyId: string, filter: StudyAuditFilter): Promise<{ rows: AuditEntry[]; total: number }> {
  const where: SQL[] = [eq(auditLog.studyId, studyId)];
  if (filter.action) where.push(eq(auditLog.action, filter.action));
  if (filter.outcome) where.push(eq(auditLog.outcome, filter.outcome));
  if (filter.actor) {
    const byEmail = ilike(auditLog.userEmail, `%${escapeLike(filter.actor)}%`);
    where.push(UUID.test(filter.actor) ? or(byEmail, eq(auditLog.userId, filter.actor), eq(auditLog.tokenId, filter.actor))! : byEmail);
  }
  if (filter.from) where.push(gte(auditLog.at, filter.from));
  if (filter.to) where.push(lt(auditLog.at, filter.to));
  const condition = and(...where);
  const rows = await db.select().from(auditLog).where(condition).orderBy(desc(auditLog.id)).limit(filter.limit).offset(filter.offset);
  const [total] = await db.select({ n: count() }).from(auditLog).where(condition);
  return { rows, total: total?.n ?? 0 };
}

/** The actions that occur in a study's trail, for the filter's choices. */
export async function listStudyAuditActions(db: Executor, studyId: string): Promise<string[]> {
  const rows = await db
    .selectDistinct({ action: auditLog.action })
    .from(auditLog)
    .where(eq(auditLog.studyId, studyId))
    .orderBy(asc(auditLog.action));
  return rows.map((r) => r.action);
}
