import { and, desc, eq, gte, lte, sql, type SQL } from 'drizzle-orm';
import type { Database, Executor } from '../index';
import { auditLog, type AuditEntry, type NewAuditEntry } from '../schema';

export async function insertAuditEntry(db: Executor, entry: NewAuditEntry): Promise<AuditEntry> {
  const [row] = await db.insert(auditLog).values(entry).returning();
  if (!row) throw new Error('audit insert returned no row');
  return row;
}

const placeholder = (name: string) => sql.placeholder(name);

function prepareAppend(db: Database) {
  return db
    .insert(auditLog)
    .values({
      action: placeholder('action'),
      outcome: placeholder('outcome'),
      userId: placeholder('userId'),
      userEmail: placeholder('userEmail'),
      role: placeholder('role'),
      tokenId: placeholder('tokenId'),
      clientAddress: placeholder('clientAddress'),
      userAgent: placeholder('userAgent'),
      patientId: placeholder('patientId'),
      studyId: placeholder('studyId'),
      resourceType: placeholder('resourceType'),
      resourceId: placeholder('resourceId'),
      details: placeholder('details'),
    })
    .prepare('audit_append');
}

const appendStatements = new WeakMap<Database, ReturnType<typeof prepareAppend>>();

/**
 * insertAuditEntry for the hot path (every image, every read of patient data): a prepared
 * statement that returns nothing. On embedded PGlite this costs a third of the plain insert.
 */
export async function appendAuditEntry(db: Database, entry: NewAuditEntry): Promise<void> {
  let statement = appendStatements.get(db);
  if (!statement) appendStatements.set(db, (statement = prepareAppend(db)));
  await statement.execute({
    action: entry.action,
    outcome: entry.outcome,
    userId: entry.userId ?? null,
    userEmail: entry.userEmail ?? null,
    role: entry.role ?? null,
    tokenId: entry.tokenId ?? null,
    clientAddress: entry.clientAddress ?? null,
    userAgent: entry.userAgent ?? null,
    patientId: entry.patientId ?? null,
    studyId: entry.studyId ?? null,
    resourceType: entry.resourceType ?? null,
    resourceId: entry.resourceId ?? null,
    // Sent as JSON text: the column's type makes it a jsonb object.
    details: JSON.stringify(entry.details ?? {}),
  });
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

/** The rows one request wrote, found by its User-Agent (tests give each request a unique one). */
export async function findAuditEntriesByUserAgent(db: Executor, userAgent: string): Promise<AuditEntry[]> {
  return db.select().from(auditLog).where(eq(auditLog.userAgent, userAgent)).orderBy(auditLog.id);
}
