import { z } from 'zod';
import { UPLOAD_ROLES } from '@/lib/ingest/uploads';
import { defineEndpoints, type ResponseDef } from '../registry';
import { uploadSummarySchema } from '../schemas';

const tus = { roles: UPLOAD_ROLES, scope: 'studies:write' } as const;
const tusDescription =
  'tus 1.0.0 (creation, creation-with-upload, termination, expiration, checksum). One writer at a time: a PATCH or DELETE while another is writing answers 423 (locked, Retry-After). A full disk answers 507 (insufficient_storage); resume from HEAD once space is back. HEAD on a finished upload answers Upload-Offset = Upload-Length, and repeating the final PATCH answers the upload status again. Upload-Metadata keys: filename, relativePath, sha256 (hex, whole file, verified), and for NIfTI patientName, patientId, modality, studyDescription, studyInstanceUid.';
const idPath = z.object({ path: z.string().describe('The upload id the creation answered in Location') });

export const uploadEndpoints = defineEndpoints([
  {
    method: 'options',
    path: '/api/upload',
    operationId: 'tusOptions',
    summary: 'tus capabilities (Tus-Version, Tus-Extension, Tus-Max-Size)',
    tags: ['uploads'],
    auth: 'public',
    responses: { 204: { description: 'Capabilities in headers' } },
  },
  {
    method: 'post',
    path: '/api/upload',
    operationId: 'tusCreate',
    summary: 'Create a resumable upload',
    description: tusDescription,
    tags: ['uploads'],
    auth: tus,
    body: { contentType: 'application/offset+octet-stream', description: 'Optional first chunk (creation-with-upload)', required: false },
    responses: { 201: { description: 'Created; Location is the upload URL' }, 200: { description: 'Created and complete (the whole file came with the request): the upload status', schema: uploadSummarySchema } },
    errors: [400, 413, 415, 422, 507],
  },
  ...(['get', 'head', 'patch', 'delete', 'options'] as const).map((method) => ({
    method,
    path: '/api/upload/{path}',
    operationId: `tusUpload${method[0]!.toUpperCase()}${method.slice(1)}`,
    summary: {
      get: 'Not part of tus: answers 404 (text/plain, from the tus server)',
      head: 'Upload offset (Upload-Offset, Upload-Length)',
      patch: 'Append a chunk; the final one answers 200 with the upload status, or the ingest error',
      delete: 'Terminate (discard) an unfinished upload',
      options: 'tus capabilities',
    }[method],
    description: tusDescription,
    tags: ['uploads'],
    auth: method === 'options' ? ('public' as const) : tus,
    catchAll: true,
    params: idPath,
    ...(method === 'patch' ? { body: { contentType: 'application/offset+octet-stream', description: 'The next chunk at Upload-Offset' } } : {}),
    responses: (method === 'patch'
        ? { 204: { description: 'Chunk stored; Upload-Offset is the new offset' }, 200: { description: 'Last chunk: the file was ingested', schema: uploadSummarySchema } }
        : method === 'head'
          ? { 200: { description: 'Upload-Offset and Upload-Length headers' } }
          : method === 'delete'
            ? { 204: { description: 'Terminated' } }
            : method === 'options'
              ? { 204: { description: 'Capabilities in headers' } }
              : { 404: { description: 'Not found (text/plain)', contentType: 'text/plain' } }) as Record<number, ResponseDef>,
    errors: method === 'patch' ? [409, 413, 415, 422, 423, 460, 507] : method === 'delete' ? [404, 423] : method === 'get' ? [] : [404],
  })),
  {
    method: 'get',
    path: '/api/uploads/{id}',
    operationId: 'getUpload',
    summary: 'Status of an upload (its owner, or an admin; another owner\u2019s upload answers 404)',
    tags: ['uploads'],
    auth: { roles: UPLOAD_ROLES, scope: 'studies:write' },
    params: z.object({ id: z.uuid() }),
    responses: { 200: { description: 'The upload', schema: uploadSummarySchema } },
  },
]);
