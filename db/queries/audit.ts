import { and, count, desc, eq, gte, ilike, inArray, like, lt, lte, or, sql, type SQL } from 'drizzle-orm';
import type { Database, Executor } from '../index';
import { auditLog, patients, studies, type AuditEntry, type NewAuditEntry, type UserRole } from '../schema';
import { escapeLike } from './studies';

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
      eventId: placeholder('eventId'),
      eventTypeCode: placeholder('eventTypeCode'),
      eventActionCode: placeholder('eventActionCode'),
      eventOutcomeIndicator: placeholder('eventOutcomeIndicator'),
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
    eventId: entry.eventId ?? null,
    eventTypeCode: entry.eventTypeCode ?? null,
    eventActionCode: entry.eventActionCode ?? null,
    eventOutcomeIndicator: entry.eventOutcomeIndicator ?? null,
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

export interface AuditPrivileges {
  role: string;
  superuser: boolean;
  owner: boolean;
  update: boolean;
  delete: boolean;
  truncate: boolean;
}

/** What the connected role may do to the audit trail beyond appending (see drizzle/0008_audit_privileges.sql). */
export async function readAuditPrivileges(db: Executor): Promise<AuditPrivileges> {
  const result = await db.execute(sql`
    select current_user::text as role, r.rolsuper as superuser, c.relowner = r.oid as owner,
      has_table_privilege(c.oid, 'UPDATE') as update, has_table_privilege(c.oid, 'DELETE') as delete,
      has_table_privilege(c.oid, 'TRUNCATE') as truncate
    from pg_class c join pg_roles r on r.rolname = current_user
    where c.oid = 'audit_log'::regclass`);
  // postgres-js answers an array of rows, PGlite `{ rows }`.
  const rows = (Array.isArray(result) ? result : (result as unknown as { rows: unknown[] }).rows) as AuditPrivileges[];
  if (!rows[0]) throw new Error('audit_log is missing');
  return rows[0];
}

export interface AuditTrailFilter {
  /** Part of the actor's email (case-insensitive), or an exact user or token id. */
  user?: string;
  role?: UserRole;
  /** Exact action, or a prefix ending in `*` (`dicomweb.*`). */
  action?: string;
  outcome?: AuditEntry['outcome'];
  /** The patient's id, or the DICOM Patient ID (patient_key) of any patient with it. */
  patient?: string;
  /** The study's id, or its Study Instance UID. */
  study?: string;
  clientAddress?: string;
  from?: Date;
  /** Exclusive. */
  to?: Date;
}

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function trailConditions(filter: AuditTrailFilter): SQL[] {
  const where: SQL[] = [];
  if (filter.user) {
    const byEmail = ilike(auditLog.userEmail, `%${escapeLike(filter.user)}%`);
    where.push(UUID_PATTERN.test(filter.user) ? or(byEmail, eq(auditLog.userId, filter.user), eq(auditLog.tokenId, filter.user))! : byEmail);
  }
  if (filter.role) where.push(eq(auditLog.role, filter.role));
  if (filter.action) {
    where.push(filter.action.endsWith('*') ? like(auditLog.action, `${escapeLike(filter.action.slice(0, -1))}%`) : eq(auditLog.action, filter.action));
  }
  if (filter.outcome) where.push(eq(auditLog.outcome, filter.outcome));
  if (filter.patient) {
    const byKey = inArray(auditLog.patientId, sql`(select ${patients.id} from ${patients} where ${patients.patientKey} = ${filter.patient})`);
    where.push(UUID_PATTERN.test(filter.patient) ? or(eq(auditLog.patientId, filter.patient), byKey)! : byKey);
  }
  if (filter.study) {
    where.push(
      UUID_PATTERN.test(filter.study)
        ? eq(auditLog.studyId, filter.study)
        : inArray(auditLog.studyId, sql`(select ${studies.id} from ${studies} where ${studies.studyInstanceUid} = ${filter.study})`),
    );
  }
  if (filter.clientAddress) where.push(sql`${auditLog.clientAddress} = ${filter.clientAddress}::inet`);
  if (filter.from) where.push(gte(auditLog.at, filter.from));
  if (filter.to) where.push(lt(auditLog.at, filter.to));
  return where;
}

/** An audit row with the DICOM identifiers of its participant objects (PS3.15 ParticipantObjectID). */
export type AuditTrailRow = AuditEntry & { studyInstanceUid: string | null; patientKey: string | null };

function selectTrail(db: Executor) {
  return db
    .select({ entry: auditLog, studyInstanceUid: studies.studyInstanceUid, patientKey: patients.patientKey })
    .from(auditLog)
    .leftJoin(studies, eq(studies.id, auditLog.studyId))
    .leftJoin(patients, eq(patients.id, auditLog.patientId));
}

function flatten(rows: { entry: AuditEntry; studyInstanceUid: string | null; patientKey: string | null }[]): AuditTrailRow[] {
  return rows.map((r) => ({ ...r.entry, studyInstanceUid: r.studyInstanceUid, patientKey: r.patientKey }));
}

/** One page of the whole trail, newest first, and how many rows match. */
export async function searchAuditTrail(db: Executor, filter: AuditTrailFilter, page: { limit: number; offset: number }): Promise<{ rows: AuditTrailRow[]; total: number }> {
  const conditions = trailConditions(filter);
  const where = conditions.length ? and(...conditions) : undefined;
  const rows = await selectTrail(db).where(where).orderBy(desc(auditLog.id)).limit(page.limit).offset(page.offset);
  const [total] = await db.select({ n: count() }).from(auditLog).where(where);
  return { rows: flatten(rows), total: total?.n ?? 0 };
}

/**
 * The next batch of an export, newest first: rows older than `beforeId` (keyset paging, so a long
 * export costs the same per batch and rows appended meanwhile are not mixed in).
 */
export async function auditTrailBatch(db: Executor, filter: AuditTrailFilter, beforeId: number | null, limit: number): Promise<AuditTrailRow[]> {
  const conditions = trailConditions(filter);
  if (beforeId !== null) conditions.push(lt(auditLog.id, beforeId));
  const rows = await selectTrail(db)
    .where(conditions.length ? and(...conditions) : undefined)
    .orderBy(desc(auditLog.id))
    .limit(limit);
  return flatten(rows);
}

/** The highest id written so far: an export covers the trail up to the moment it started. */
export async function latestAuditId(db: Executor): Promise<number> {
  const [row] = await db.select({ id: sql<number>`coalesce(max(${auditLog.id}), 0)::bigint`.mapWith(Number) }).from(auditLog);
  return row?.id ?? 0;
}

/** The columns of an audit row that a statement writing its own row (see below) fills from its caller. */
export interface StatementAudit {
  action: string;
  userId: string | null;
  userEmail: string | null;
  role: string | null;
  tokenId: string | null;
  clientAddress: string | null;
  userAgent: string | null;
  resourceType: string;
  resourceId: string | null;
  eventId: string;
  eventTypeCode: string | null;
  eventActionCode: string;
  /** EventOutcomeIndicator of the row when the data is found, and when it is not. */
  outcomeIndicatorFound: number;
  outcomeIndicatorMissing: number;
}
