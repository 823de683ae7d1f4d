import { z } from 'zod';
import { STUDY_SORT_KEYS, type StudyQuery } from '@/db/queries/studies';
import { studyStatus } from '@/db/schema';

const dicomDate = z
  .string()
  .trim()
  .regex(/^\d{4}-?\d{2}-?\d{2}$/, 'use YYYY-MM-DD or YYYYMMDD')
  .transform((v) => v.replace(/-/g, ''));

/** Query string of GET /api/studies and the worklist page. */
export const studyQuerySchema = z
  .object({
    page: z.coerce.number().int().min(1).max(100_000).default(1),
    pageSize: z.coerce.number().int().min(1).max(200).default(50),
    q: z.string().trim().max(128).optional(),
    patientName: z.string().trim().max(128).optional(),
    patientId: z.string().trim().max(64).optional(),
    accessionNumber: z.string().trim().max(64).optional(),
    dateFrom: dicomDate.optional(),
    dateTo: dicomDate.optional(),
    modality: z.string().trim().toUpperCase().regex(/^[A-Z]{1,16}$/, 'must be a modality code such as CT').optional(),
    status: z.enum(studyStatus.enumValues).optional(),
    sort: z.enum(STUDY_SORT_KEYS).default('createdAt'),
    order: z.enum(['asc', 'desc']).default('desc'),
  })
  .refine((q) => !q.dateFrom || !q.dateTo || q.dateFrom <= q.dateTo, { message: 'dateFrom must not be after dateTo', path: ['dateFrom'] });

export type StudySearch = z.output<typeof studyQuerySchema>;

export function parseStudySearch(params: URLSearchParams): StudySearch {
  const raw = Object.fromEntries([...params.entries()].filter(([, v]) => v !== ''));
  return studyQuerySchema.parse(raw);
}

export function toStudyQuery(search: StudySearch): StudyQuery {
  const { page, pageSize, ...filters } = search;
  return { ...filters, limit: pageSize, offset: (page - 1) * pageSize };
}
