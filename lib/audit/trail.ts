import { z } from 'zod';
import { getDb } from '@/db';
import { auditTrailBatch, latestAuditId, searchAuditTrail, type AuditTrailFilter, type AuditTrailRow } from '@/db/queries/audit';
import { auditOutcome, USER_ROLES } from '@/db/schema';
import { forbidden } from '@/lib/api/errors';
import { EVENT_IDS, EVENT_TYPE_CODES, outcomeIndicatorOf, ps315EventOf, type EventActionCode, type EventOutcomeIndicator } from './events';
import { recordAudit, type Actor } from './index';

/** A day (YYYY-MM-DD, UTC) or an ISO 8601 instant. */
const instant = z.union([z.iso.date(), z.iso.datetime({ offset: true })]);
const text = (max: number) => z.string().trim().min(1).max(max);

export const AUDIT_EXPORT_FORMATS = ['csv', 'json'] as const;

/** The query string of GET /api/audit and of /admin/audit, as given (what the OpenAPI document lists). */
export const auditTrailParamsSchema = z.object({
  user: text(254).optional().describe("Part of the actor's email, or a user or API token id"),
  role: z.enum(USER_ROLES).optional(),
  action: z
    .string()
    .trim()
    .regex(/^[a-z][a-z0-9_.:-]{0,63}\*?$/i, 'must be an audit action such as study.read, or a prefix ending in * (dicomweb.*)')
    .optional(),
  outcome: z.enum(auditOutcome.enumValues).optional(),
  patient: text(128).optional().describe('The patient id, or a DICOM Patient ID'),
  study: text(128).optional().describe('The study id, or a Study Instance UID'),
  address: z.union([z.ipv4(), z.ipv6()]).optional().describe('The client address'),
  from: instant.optional().describe('From this day (YYYY-MM-DD, UTC) or instant (ISO 8601), inclusive'),
  to: instant.optional().describe('Up to this day (the whole day) or instant, exclusive'),
  page: z.coerce.number().int().min(1).max(100_000).default(1),
  pageSize: z.coerce.number().int().min(1).max(200).default(50),
  format: z.enum(AUDIT_EXPORT_FORMATS).optional().describe('Export every matching row (not one page) as a CSV or JSON download, streamed'),
});

export const auditTrailQuerySchema = auditTrailParamsSchema
  .transform((q) => ({
    ...q,
    from: q.from ? new Date(q.from) : undefined,
    // A day given as `to` includes that whole day.
    to: q.to ? new Date(q.to.length === 10 ? Date.parse(q.to) + 86_400_000 : Date.parse(q.to)) : undefined,
  }))
  .refine((q) => !q.from || !q.to || q.from < q.to, { message: 'from must be before to', path: ['from'] });

export type AuditTrailQuery = z.output<typeof auditTrailQuerySchema>;

/** Empty form fields mean "any". */
export function parseAuditTrailQuery(raw: Record<string, string | undefined>): AuditTrailQuery {
  return auditTrailQuerySchema.parse(Object.fromEntries(Object.entries(raw).filter(([, v]) => v !== undefined && v.trim() !== '')));
}

function filterOf(q: AuditTrailQuery): AuditTrailFilter {
  return { user: q.user, role: q.role, action: q.action, outcome: q.outcome, patient: q.patient, study: q.study, clientAddress: q.address, from: q.from, to: q.to };
}

/** What the audit row of a search or export records: the filters as given. */
function filtersForDetails(q: AuditTrailQuery): Record<string, string> {
  const f = filterOf(q);
  return Object.fromEntries(
    Object.entries(f).flatMap(([k, v]) => (v === undefined ? [] : [[k, v instanceof Date ? v.toISOString() : String(v)]])),
  );
}

/** One audit row as searched and exported: the stored fields plus the PS3.15 names of its codes. */
export interface AuditTrailEntry {
  id: number;
  at: Date;
  action: string;
  outcome: AuditTrailRow['outcome'];
  eventId: string;
  eventIdName: string;
  eventTypeCode: string | null;
  eventTypeName: string | null;
  eventActionCode: EventActionCode;
  eventOutcomeIndicator: EventOutcomeIndicator;
  userId: string | null;
  userEmail: string | null;
  role: string | null;
  tokenId: string | null;
  clientAddress: string | null;
  userAgent: string | null;
  patientId: string | null;
  patientKey: string | null;
  studyId: string | null;
  studyInstanceUid: string | null;
  resourceType: string | null;
  resourceId: string | null;
  details: Record<string, unknown>;
}

export function toTrailEntry(row: AuditTrailRow): AuditTrailEntry {
  // Rows written before the PS3.15 columns existed get the same mapping at read time.
  const derived = ps315EventOf(row.action);
  const eventId = row.eventId ?? derived.eventId;
  const eventTypeCode = row.eventId ? row.eventTypeCode : derived.eventTypeCode;
  return {
    id: row.id,
    at: row.at,
    action: row.action,
    outcome: row.outcome,
    eventId,
    eventIdName: EVENT_IDS[eventId as keyof typeof EVENT_IDS] ?? eventId,
    eventTypeCode,
    eventTypeName: eventTypeCode ? (EVENT_TYPE_CODES[eventTypeCode as keyof typeof EVENT_TYPE_CODES] ?? eventTypeCode) : null,
    eventActionCode: (row.eventActionCode as EventActionCode | null) ?? derived.eventActionCode,
    eventOutcomeIndicator: (row.eventOutcomeIndicator as EventOutcomeIndicator | null) ?? outcomeIndicatorOf(row.outcome, row.details),
    userId: row.userId,
    userEmail: row.userEmail,
    role: row.role,
    tokenId: row.tokenId,
    clientAddress: row.clientAddress,
    userAgent: row.userAgent,
    patientId: row.patientId,
    patientKey: row.patientKey,
    studyId: row.studyId,
    studyInstanceUid: row.studyInstanceUid,
    resourceType: row.resourceType,
    resourceId: row.resourceId,
    details: row.details,
  };
}

async function requireAdmin(actor: Actor, action: 'audit.search' | 'audit.export'): Promise<void> {
  if (actor.role === 'admin') return;
  await recordAudit(actor, { action, outcome: 'denied', resourceType: 'audit_log', details: { reason: 'role' } });
  throw forbidden('Only administrators can read the audit trail');
}

/**
 * One page of the whole audit trail, for administrators. The trail says who saw which patient, so
 * reading it is audited (`audit.search`), and the row is written before the page is handed out.
 */
export async function searchTrail(actor: Actor, query: AuditTrailQuery) {
  await requireAdmin(actor, 'audit.search');
  const db = await getDb();
  const { rows, total } = await searchAuditTrail(db, filterOf(query), { limit: query.pageSize, offset: (query.page - 1) * query.pageSize });
  await recordAudit(actor, {
    action: 'audit.search',
    outcome: 'success',
    resourceType: 'audit_log',
    details: { filters: filtersForDetails(query), page: query.page, total },
  });
  return { entries: rows.map(toTrailEntry), page: query.page, pageSize: query.pageSize, total };
}

export const CSV_COLUMNS = [
  'id',
  'at',
  'eventId',
  'eventIdName',
  'eventTypeCode',
  'eventTypeName',
  'eventActionCode',
  'eventOutcomeIndicator',
  'action',
  'outcome',
  'userId',
  'userEmail',
  'role',
  'tokenId',
  'clientAddress',
  'userAgent',
  'patientId',
  'patientKey',
  'studyId',
  'studyInstanceUid',
  'resourceType',
  'resourceId',
  'details',
] as const satisfies readonly (keyof AuditTrailEntry)[];

/**
 * RFC 4180 quoting; cells a spreadsheet would run as a formula (=, +, -, @, tab, CR) get a leading
 * apostrophe, since user agents and emails in the trail are attacker-controlled text.
 */
export function csvCell(value: unknown): string {
  if (value === null || value === undefined) return '';
  let text = value instanceof Date ? value.toISOString() : typeof value === 'object' ? JSON.stringify(value) : String(value);
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

function csvLine(entry: AuditTrailEntry): string {
  return `${CSV_COLUMNS.map((c) => csvCell(entry[c])).join(',')}\r\n`;
}

const EXPORT_BATCH = 1000;

/**
 * Every row matching the filters as a CSV or JSON stream, newest first, fetched in batches as the
 * client reads (memory stays flat however long the range). The export is audited before the first
 * byte leaves; it covers the trail up to that moment.
 */
export async function exportTrail(actor: Actor, query: AuditTrailQuery & { format: (typeof AUDIT_EXPORT_FORMATS)[number] }) {
  await requireAdmin(actor, 'audit.export');
  const db = await getDb();
  const filter = filterOf(query);
  const exportRow = await recordAudit(actor, {
    action: 'audit.export',
    outcome: 'success',
    resourceType: 'audit_log',
    details: { format: query.format, filters: filtersForDetails(query) },
  });
  // Up to and including the export's own row.
  let cursor: number | null = Math.max(exportRow.id, await latestAuditId(db)) + 1;
  let first = true;
  const encoder = new TextEncoder();
  const csv = query.format === 'csv';
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(encoder.encode(csv ? `${CSV_COLUMNS.join(',')}\r\n` : '['));
    },
    async pull(controller) {
      const rows = cursor === null ? [] : await auditTrailBatch(db, filter, cursor, EXPORT_BATCH);
      if (rows.length === 0) {
        controller.enqueue(encoder.encode(csv ? '' : first ? ']\n' : '\n]\n'));
        controller.close();
        return;
      }
      cursor = rows.length < EXPORT_BATCH ? null : rows[rows.length - 1]!.id;
      let chunk = '';
      for (const row of rows) {
        const entry = toTrailEntry(row);
        chunk += csv ? csvLine(entry) : `${first ? '\n' : ',\n'}${JSON.stringify(entry)}`;
        first = false;
      }
      controller.enqueue(encoder.encode(chunk));
    },
  });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  return {
    stream,
    contentType: csv ? 'text/csv; charset=utf-8' : 'application/json; charset=utf-8',
    filename: `audit-trail-${stamp}.${query.format}`,
  };
}
