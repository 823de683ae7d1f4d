/** Response schemas of the catalogue, worklist, job, upload and segmentation endpoints (their handlers live elsewhere). */
import { z } from 'zod';
import { ASSIGNEE_ROLES } from '@/db/queries/studies';
import { analysisKind, analysisStatus, auditOutcome, jobStatus as jobStatusEnum, studyPriority, studyStatus as studyStatusEnum } from '@/db/schema';
import { USER_ROLES } from '@/lib/auth/roles';
import { ENGINE_NAMES, segmentationOptionsSchema } from '@/lib/segmentation/engines';
import { studyFiltersSchema } from '@/lib/studies/query';
import { timestamp, uuid } from './registry';

const studyStatus = z.enum(studyStatusEnum.enumValues);
const priority = z.enum(studyPriority.enumValues);
const jobStatus = z.enum(jobStatusEnum.enumValues);
const nullableText = z.string().nullable();
const int = z.number().int();

/** A user as the worklist names them (assignee). */
const userRefSchema = z.object({ id: uuid, name: z.string(), email: z.string() });
const assigneeSchema = userRefSchema.nullable().describe('The radiologist or administrator the study is assigned to; null when unassigned');

export const healthSchema = z.object({ status: z.literal('ok'), database: z.enum(['postgres', 'pglite']) });

export const meSchema = z.object({
  kind: z.enum(['user', 'token']),
  id: uuid,
  email: nullableText,
  role: z.enum(USER_ROLES),
  scopes: z.array(z.string()),
});

export const studySummarySchema = z.object({
  id: uuid,
  studyInstanceUid: z.string(),
  studyDate: nullableText.describe('YYYYMMDD'),
  studyTime: nullableText,
  description: nullableText,
  accessionNumber: nullableText,
  modalities: z.array(z.string()),
  status: studyStatus,
  priority,
  createdAt: timestamp,
  updatedAt: timestamp,
  assignee: assigneeSchema,
  seriesCount: int,
  instanceCount: int,
  patient: z.object({ id: uuid, patientId: z.string(), name: nullableText, birthDate: nullableText, sex: nullableText }),
  processing: z.object({ jobId: uuid, status: jobStatus, progress: int, error: nullableText }).nullable(),
});

export const studyListSchema = z.object({ studies: z.array(studySummarySchema), page: int, pageSize: int, total: int });

const instanceRowSchema = z.object({
  id: uuid,
  seriesId: uuid,
  sopInstanceUid: z.string(),
  sopClassUid: nullableText,
  instanceNumber: int.nullable(),
  format: z.enum(['dicom', 'nifti']),
  transferSyntaxUid: nullableText,
  sizeBytes: int,
  sha256: z.string(),
  rows: int.nullable(),
  columns: int.nullable(),
  frames: int,
  createdAt: timestamp,
});

const jobSummarySchema = z.object({
  id: uuid,
  kind: z.string(),
  status: jobStatus,
  progress: int,
  attempts: int,
  error: nullableText,
  result: z.record(z.string(), z.unknown()).nullable(),
  createdAt: timestamp,
  finishedAt: timestamp.nullable(),
});

const namedUserSchema = z.object({ id: uuid, name: z.string() });

const analysisSummarySchema = z.object({
  id: uuid,
  kind: z.enum(analysisKind.enumValues),
  status: z.enum(analysisStatus.enumValues),
  model: nullableText,
  seriesId: uuid.nullable(),
  instanceId: uuid.nullable(),
  author: namedUserSchema.nullable(),
  signedBy: namedUserSchema.nullable(),
  signedAt: timestamp.nullable(),
  createdAt: timestamp,
  updatedAt: timestamp,
});

export const studyDetailSchema = z.object({
  study: z.object({
    id: uuid,
    patientId: uuid,
    studyInstanceUid: z.string(),
    studyDate: nullableText,
    studyTime: nullableText,
    accessionNumber: nullableText,
    description: nullableText,
    modalities: z.array(z.string()),
    referringPhysician: nullableText,
    status: studyStatus,
    priority,
    assigneeId: uuid.nullable(),
    createdBy: uuid.nullable(),
    createdAt: timestamp,
    updatedAt: timestamp,
    patient: z.object({
      id: uuid,
      patientKey: z.string(),
      issuer: z.string(),
      name: nullableText,
      birthDate: nullableText,
      sex: nullableText,
      createdAt: timestamp,
      updatedAt: timestamp,
    }),
    series: z.array(
      z.object({
        id: uuid,
        studyId: uuid,
        seriesInstanceUid: z.string(),
        modality: nullableText,
        seriesNumber: int.nullable(),
        description: nullableText,
        bodyPart: nullableText,
        createdAt: timestamp,
        updatedAt: timestamp,
        instances: z.array(instanceRowSchema),
      }),
    ),
    assignee: assigneeSchema,
    jobs: z.array(jobSummarySchema),
    analyses: z.array(analysisSummarySchema).describe('AI answers, reports and segmentations, newest first, without their content'),
  }),
});

export const viewerStudySchema = z.object({
  study: z.object({
    id: uuid,
    description: nullableText,
    studyDate: nullableText,
    accessionNumber: nullableText,
    modalities: z.array(z.string()),
    patient: z.object({ name: nullableText, patientId: z.string(), birthDate: nullableText, sex: nullableText }),
  }),
  series: z.array(
    z.object({
      id: uuid,
      number: int.nullable(),
      description: nullableText,
      modality: nullableText,
      format: z.enum(['dicom', 'nifti']),
      thumbnailUrl: z.string(),
      instances: z.array(
        z.object({
          id: uuid,
          number: int.nullable(),
          frames: int,
          timePoints: int.min(1).describe('3D volumes of a NIfTI file (4D and up; fileUrl?t= picks one); 1 for everything else'),
          fileUrl: z.string(),
          tagsUrl: z.string(),
        }),
      ),
    }),
  ),
});

export const tagListSchema = z.object({
  elements: z.array(z.object({ tag: z.string().regex(/^\([0-9A-F]{4},[0-9A-F]{4}\)$/), keyword: z.string(), vr: z.string(), value: z.string(), depth: int.min(0) })),
});

export const jobSchema = z.object({
  id: uuid,
  kind: z.string(),
  status: jobStatus,
  progress: int,
  attempts: int,
  maxAttempts: int,
  error: nullableText,
  result: z.record(z.string(), z.unknown()).nullable(),
  studyId: uuid.nullable(),
  createdAt: timestamp,
  finishedAt: timestamp.nullable(),
});

export const processAcceptedSchema = z.object({ jobId: uuid, status: jobStatus, progress: int });

export const uploadSummarySchema = z.object({
  id: uuid,
  status: z.enum(['receiving', 'processing', 'ready', 'failed']),
  filename: nullableText,
  size: int.nullable(),
  receivedBytes: int,
  sha256: nullableText,
  studyId: uuid.nullable(),
  error: z.object({ code: z.string(), message: z.string() }).nullable(),
  result: z.record(z.string(), z.unknown()).nullable().describe('{ instances, duplicates, studyIds, items, skipped } once ingested'),
  createdAt: timestamp,
  updatedAt: timestamp,
});

export const assigneeListSchema = z.object({
  assignees: z.array(userRefSchema.extend({ role: z.enum(ASSIGNEE_ROLES) })).describe('Active radiologists and administrators, by name'),
});

export const savedSearchSchema = z.object({
  id: uuid,
  name: z.string(),
  filters: studyFiltersSchema.describe('The query of GET /api/studies without page and savedSearch, defaults filled in'),
  href: z.string().describe('The worklist URL that applies it'),
  createdAt: timestamp,
  updatedAt: timestamp,
});
export const savedSearchResponseSchema = z.object({ savedSearch: savedSearchSchema });
export const savedSearchListSchema = z.object({ savedSearches: z.array(savedSearchSchema).describe('The caller\u2019s own (a user\u2019s, or an API token\u2019s), by name') });

export const auditEntrySchema = z.object({
  id: int,
  at: timestamp,
  action: z.string(),
  outcome: z.enum(auditOutcome.enumValues),
  userId: uuid.nullable(),
  userEmail: nullableText,
  role: nullableText,
  tokenId: uuid.nullable(),
  patientId: uuid.nullable(),
  studyId: uuid.nullable(),
  resourceType: nullableText,
  resourceId: nullableText,
  clientAddress: nullableText,
  userAgent: nullableText,
  details: z.record(z.string(), z.unknown()),
  eventId: nullableText.describe('DICOM PS3.15 EventID (DCM code value); null on rows written before it was recorded'),
  eventTypeCode: nullableText.describe('PS3.15 EventTypeCode (DCM code value), where one applies'),
  eventActionCode: z.enum(['C', 'R', 'U', 'D', 'E']).nullable().describe('PS3.15 EventActionCode'),
  eventOutcomeIndicator: z.union([z.literal(0), z.literal(4), z.literal(8), z.literal(12)]).nullable().describe('PS3.15 EventOutcomeIndicator'),
});

export const studyAuditTrailSchema = z.object({
  entries: z.array(auditEntrySchema).describe('Newest first'),
  page: int,
  pageSize: int,
  total: int,
  actions: z.array(z.string()).describe('Every action that occurs in this study\u2019s trail (for filtering)'),
});

const byte = int.min(0).max(255);
const xyz = <T extends z.ZodType>(item: T) => z.tuple([item, item, item]);

export const segmentationSchema = z.object({
  id: uuid,
  studyId: uuid,
  seriesId: uuid.nullable(),
  engine: z.enum(ENGINE_NAMES),
  model: nullableText.describe('Engine and model version, once it ran'),
  // As requested; stored class names are not re-checked against today's class list.
  options: segmentationOptionsSchema.extend({ roiSubset: z.array(z.string()).optional() }),
  status: jobStatus,
  progress: int.min(0).max(100),
  error: nullableText,
  jobId: uuid.nullable(),
  structures: z.array(
    z.object({
      label: int.min(1).max(255).describe('Value in the label map'),
      name: z.string(),
      color: xyz(byte).describe('RGB'),
      description: z.string().optional(),
      voxels: int.min(0),
      volumeMl: z.number().min(0),
    }),
  ),
  spacing: xyz(z.number()).nullable().describe('mm along columns, rows and slices'),
  spacingKnown: z.boolean().nullable().describe('False when the images gave no spacing and 1 mm was assumed'),
  warnings: z.array(z.string()),
  dims: xyz(int.min(1)).nullable().describe('[columns, rows, slices] of the label map'),
  createdAt: timestamp,
  updatedAt: timestamp,
  durationMs: int.nullable(),
  overlayUrl: nullableText.describe('Set once succeeded'),
  labelMapUrl: nullableText.describe('Set once succeeded'),
});

export const segmentationResponseSchema = z.object({ segmentation: segmentationSchema });
export const segmentationListSchema = z.object({ segmentations: z.array(segmentationSchema).describe('Newest first') });
export const segmentationAcceptedSchema = z.object({
  segmentation: segmentationSchema,
  jobId: uuid.nullable(),
  created: z.boolean().describe('false: an identical request was still queued or running, and this is it'),
});

export const segmentationEngineListSchema = z.object({
  engines: z.array(
    z.object({
      name: z.enum(ENGINE_NAMES),
      label: z.string(),
      available: z.boolean().describe('Whether it can run on this server now'),
      default: z.boolean(),
      modalities: z.array(z.string()).describe('* for any'),
      options: z.array(z.string()).describe('The option names it takes'),
    }),
  ),
});
