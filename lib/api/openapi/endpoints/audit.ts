import { z } from 'zod';
import { auditOutcome } from '@/db/schema';
import { auditTrailParamsSchema, type AuditTrailEntry, type searchTrail } from '@/lib/audit/trail';
import { defineEndpoints, timestamp, uuid, type Assert, type Fits } from '../registry';

const text = z.string().nullable();

export const auditTrailEntrySchema = z.object({
  id: z.number().int(),
  at: timestamp.describe('EventDateTime'),
  action: z.string().describe('The platform\u2019s action, e.g. study.read'),
  outcome: z.enum(auditOutcome.enumValues),
  eventId: z.string().describe('PS3.15 EventID, a DCM code value (110103 DICOM Instances Accessed, 110114 User Authentication, …)'),
  eventIdName: z.string(),
  eventTypeCode: text.describe('PS3.15 EventTypeCode (110122 Login, 110123 Logout, …)'),
  eventTypeName: text,
  eventActionCode: z.enum(['C', 'R', 'U', 'D', 'E']).describe('PS3.15 EventActionCode'),
  eventOutcomeIndicator: z.union([z.literal(0), z.literal(4), z.literal(8), z.literal(12)]).describe('0 success, 4 minor, 8 serious, 12 major failure'),
  userId: uuid.nullable().describe('ActiveParticipant UserID (a user)'),
  userEmail: text,
  role: text.describe('ActiveParticipant RoleIDCode'),
  tokenId: uuid.nullable().describe('ActiveParticipant UserID (an API token)'),
  clientAddress: text.describe('ActiveParticipant NetworkAccessPointID (IP address)'),
  userAgent: text,
  patientId: uuid.nullable().describe('ParticipantObject: the patient'),
  patientKey: text.describe('The patient\u2019s DICOM Patient ID'),
  studyId: uuid.nullable().describe('ParticipantObject: the study'),
  studyInstanceUid: text.describe('The study\u2019s Study Instance UID'),
  resourceType: text,
  resourceId: text,
  details: z.record(z.string(), z.unknown()),
});

export const auditTrailPageSchema = z.object({
  entries: z.array(auditTrailEntrySchema).describe('Newest first'),
  page: z.number().int(),
  pageSize: z.number().int(),
  total: z.number().int(),
});

export type _AuditSchemasFit = [
  Assert<Fits<typeof auditTrailEntrySchema, AuditTrailEntry>>,
  Assert<Fits<typeof auditTrailPageSchema, Awaited<ReturnType<typeof searchTrail>>>>,
];

export const auditEndpoints = defineEndpoints([
  {
    method: 'get',
    path: '/api/audit',
    operationId: 'searchAuditTrail',
    summary: 'Search the whole audit trail, or export it as CSV or JSON (audited as audit.search / audit.export)',
    description:
      'Without format: one page (page, pageSize) as JSON. format=csv or format=json: every matching row, newest first, streamed as a download (Content-Disposition: attachment), the JSON one as an array of entries. user matches part of the email or a user/token id; action an exact action or a prefix ending in *; patient a patient id or DICOM Patient ID; study a study id or Study Instance UID.',
    tags: ['audit'],
    auth: { roles: ['admin'], scope: 'admin' },
    query: auditTrailParamsSchema,
    responses: {
      200: {
        description: 'A page of entries; or, with format, the export',
        schema: z.union([auditTrailPageSchema, z.array(auditTrailEntrySchema)]),
        contentType: ['application/json', 'text/csv'],
      },
    },
  },
]);
