import { z } from 'zod';
import { imageQuerySchema } from '@/lib/imaging/image-query';
import { UPLOAD_ROLES } from '@/lib/ingest/uploads';
import { instanceFileQuerySchema } from '@/lib/studies/instance-file';
import { studyQuerySchema } from '@/lib/studies/query';
import { defineEndpoints } from '../registry';
import { jobSchema, processAcceptedSchema, studyDetailSchema, studyListSchema, tagListSchema, viewerStudySchema } from '../schemas';

const id = z.object({ id: z.uuid() });
const read = { scope: 'studies:read' } as const;

export const studyEndpoints = defineEndpoints([
  {
    method: 'get',
    path: '/api/studies',
    operationId: 'listStudies',
    summary: 'Search the worklist (audited as study.search)',
    description:
      'status and priority take a list: repeated (status=processed&status=analysed) or comma-separated. assignee=me needs a signed-in user (400 for API tokens, which pass a user id). savedSearch applies one of the caller\u2019s saved searches, other parameters overriding it; an unknown or someone else\u2019s is a 404.',
    tags: ['studies'],
    auth: read,
    query: studyQuerySchema,
    responses: { 200: { description: 'A page of studies', schema: studyListSchema } },
    errors: [404],
  },
  {
    method: 'get',
    path: '/api/studies/{id}',
    operationId: 'getStudy',
    summary: 'A study with its patient, series, instances and jobs (audited)',
    tags: ['studies'],
    auth: read,
    params: id,
    responses: { 200: { description: 'The study', schema: studyDetailSchema } },
  },
  {
    method: 'get',
    path: '/api/studies/{id}/viewer',
    operationId: 'getStudyViewer',
    summary: 'What the viewer loads: series with instances in spatial order (audited)',
    tags: ['studies'],
    auth: read,
    params: id,
    responses: { 200: { description: 'The study for the viewer', schema: viewerStudySchema } },
  },
  {
    method: 'get',
    path: '/api/studies/{id}/image',
    operationId: 'getStudyImage',
    summary: 'A rendered image of the study (audited)',
    tags: ['studies'],
    auth: read,
    params: id,
    query: imageQuerySchema,
    responses: {
      200: {
        description: 'The rendered image; X-Window-Center and X-Window-Width give the window used, when one was',
        contentType: ['image/png', 'image/jpeg', 'image/webp'],
        headers: { ETag: 'For If-None-Match', 'X-Image-Instance': 'The instance rendered', 'X-Image-Series': 'Its series' },
      },
      304: { description: 'Not modified (If-None-Match matched the ETag)', headers: { ETag: 'The same ETag' } },
    },
    errors: [413, 415, 422],
  },
  {
    method: 'get',
    path: '/api/instances/{id}/file',
    operationId: 'getInstanceFile',
    summary: 'The instance as DICOM the browser viewer decodes (or ?original=true as uploaded)',
    tags: ['studies'],
    auth: read,
    params: id,
    query: instanceFileQuerySchema,
    responses: { 200: { description: 'A DICOM Part 10 file; with ?original=true a NIfTI instance comes as uploaded (.nii as application/octet-stream, .nii.gz as application/gzip)', contentType: ['application/dicom', 'application/octet-stream', 'application/gzip'], headers: { 'Content-Disposition': 'inline, or attachment for ?original=true, with the file name' } } },
  },
  {
    method: 'get',
    path: '/api/instances/{id}/tags',
    operationId: 'getInstanceTags',
    summary: 'Every element of the instance up to the pixel data',
    tags: ['studies'],
    auth: read,
    params: id,
    responses: { 200: { description: 'The elements', schema: tagListSchema } },
  },
  {
    method: 'post',
    path: '/api/process/{id}',
    operationId: 'processStudy',
    summary: '(Re)process a study as a durable job',
    tags: ['jobs'],
    auth: { roles: UPLOAD_ROLES, scope: 'studies:write' },
    params: id,
    responses: { 202: { description: 'The job (the one already queued or running, if any)', schema: processAcceptedSchema, headers: { Location: 'The job: /api/jobs/{id}' } } },
  },
  {
    method: 'get',
    path: '/api/jobs/{id}',
    operationId: 'getJob',
    summary: 'A processing job',
    tags: ['jobs'],
    auth: read,
    params: id,
    responses: { 200: { description: 'The job', schema: jobSchema } },
  },
]);
