import { and, desc, eq, gte, lte, type SQL } from 'drizzle-orm';
import type { Executor } from '../index';
import { auditLog, type AuditEntry, type NewAuditEntry } from '../schema';

export async function insertAuditEntry(db: Executor, entry: NewAuditEntry): Promise<AuditEntry> {
  const [row] = await db.insert(auditLog).values(entry).returning();
  if (!row) throw new Error('audit insert returned no row');
  return row;
}

export interface AuditFilter {
  userId?: string;
  studyId?: string;
  patientId?: string;
  action?: string;
  from?: Date;
  to?: Date;
  limit?: number;
}

export async function listAuditEntries(db: Executor, filter: AuditFilter = {}): Promise<AuditEntry[]> {
  const where: SQL[] = [];
  if (filter.userId) where.push(eq(auditLog.userId, filter.userId));
  if (filter.studyId) where.push(eq(auditLog.studyId, filter.studyId));
  if (filter.patientId) where.push(eq(auditLog.patientId, filter.patientId));
  if (filter.action) where.push(eq(auditLog.action, filter.action));
  if (filter.from) where.push(gte(auditLog.at, filter.from));
  if (filter.to) where.push(lte(auditLog.at, filter.to));
  return db
    .select()
    .from(auditLog)
    .where(where.length ? and(...where) : undefined)
    .orderBy(desc(auditLog.id))
    .limit(Math.min(filter.limit ?? 100, 1000));
}
