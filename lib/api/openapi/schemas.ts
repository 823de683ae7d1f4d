/** Response schemas of the catalogue, job and upload endpoints (their handlers live elsewhere). */
import { z } from 'zod';
import { USER_ROLES } from '@/lib/auth/roles';
import { timestamp, uuid } from './registry';

const studyStatus = z.enum(['received', 'processing', 'processed', 'analysed', 'reported', 'failed']);
const priority = z.enum(['routine', 'urgent', 'stat']);
const jobStatus = z.enum(['queued', 'running', 'succeeded', 'failed', 'cancelled']);
const nullableText = z.string().nullable();
const int = z.number().int();

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
    jobs: z.array(jobSummarySchema),
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
      instances: z.array(z.object({ id: uuid, number: int.nullable(), frames: int, fileUrl: z.string(), tagsUrl: z.string() })),
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
