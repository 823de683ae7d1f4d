import { z } from 'zod';
import { UPLOAD_ROLES } from '@/lib/ingest/uploads';
import { defineEndpoints, type EndpointDef } from '../registry';

const tag = z.string().regex(/^[0-9A-F]{8}$/);
const attribute = z.object({
  vr: z.string().regex(/^[A-Z]{2}$/),
  Value: z.array(z.unknown()).optional(),
  InlineBinary: z.string().optional(),
  BulkDataURI: z.string().optional(),
});
/** A dataset in the DICOM JSON model (PS3.18 F.2): tags as keys. */
export const dicomJsonDataset = z.record(tag, attribute).describe('DICOM JSON dataset (PS3.18 F.2)');
const datasets = z.array(dicomJsonDataset);

const uid = z.string().regex(/^[0-9]+(\.[0-9]+)*$/).max(64);
const study = z.object({ study: uid });
const series = study.extend({ series: uid });
const instance = series.extend({ instance: uid });
const read = { scope: 'dicomweb:read' } as const;

const qidoQuery = z.object({
  limit: z.coerce.number().int().min(1).max(1000).optional().describe('Default 100; a Warning header says when more results exist'),
  offset: z.coerce.number().int().min(0).optional(),
  includefield: z.string().optional().describe('Comma-separated keywords or tags, or "all"'),
  fuzzymatching: z.enum(['true', 'false']).optional().describe('Accepted; person names always match case-insensitively'),
  StudyInstanceUID: z.string().optional().describe('One UID or a list separated by commas or backslashes'),
  PatientID: z.string().optional().describe('Exact, or with * and ? wildcards'),
  PatientName: z.string().optional().describe('Case-insensitive; * and ? wildcards'),
  AccessionNumber: z.string().optional(),
  StudyDate: z.string().optional().describe('YYYYMMDD, or a range YYYYMMDD-YYYYMMDD, -YYYYMMDD, YYYYMMDD-'),
  StudyDescription: z.string().optional(),
  ReferringPhysicianName: z.string().optional(),
  ModalitiesInStudy: z.string().optional().describe('One or more modalities (comma or backslash separated)'),
  SeriesInstanceUID: z.string().optional(),
  Modality: z.string().optional(),
  SeriesNumber: z.coerce.number().int().optional(),
  SeriesDescription: z.string().optional(),
  SOPInstanceUID: z.string().optional(),
  SOPClassUID: z.string().optional(),
  InstanceNumber: z.coerce.number().int().optional(),
});

const qidoDescription =
  'Keys may be given as keywords (PatientID) or tags (00100020). Other valid DICOM keys are ignored and named in a Warning header; unknown keys are a 400. Audited as patient-data access.';

function qido(path: string, level: string, params: z.ZodObject | undefined, operationId: string): EndpointDef {
  return {
    method: 'get',
    path,
    operationId,
    summary: `QIDO-RS: search for ${level}`,
    description: qidoDescription,
    tags: ['dicomweb'],
    auth: read,
    params,
    query: qidoQuery,
    responses: { 200: { description: 'Matches (an empty array when none)', schema: datasets, contentType: 'application/dicom+json' } },
    errors: [406],
  };
}

const retrieveDescription =
  'Accept: multipart/related; type="application/dicom"[; transfer-syntax=UID|*]. Without a transfer-syntax parameter, Explicit VR Little Endian (1.2.840.10008.1.2.1): files stored otherwise are re-encoded or decoded to it. transfer-syntax=* returns every file as stored.';

function retrieve(path: string, level: string, params: z.ZodObject, operationId: string): EndpointDef {
  return {
    method: 'get',
    path,
    operationId,
    summary: `WADO-RS: retrieve the ${level} as DICOM`,
    description: retrieveDescription,
    tags: ['dicomweb'],
    auth: read,
    params,
    responses: { 200: { description: 'One application/dicom part per instance, with Content-Location', contentType: 'multipart/related' } },
    errors: [406],
  };
}

function metadata(path: string, level: string, params: z.ZodObject, operationId: string): EndpointDef {
  return {
    method: 'get',
    path,
    operationId,
    summary: `WADO-RS: metadata of the ${level}`,
    description: 'Every attribute of every instance; pixel data and binary values over 1 KiB as BulkDataURI, smaller ones as InlineBinary.',
    tags: ['dicomweb'],
    auth: read,
    params,
    responses: { 200: { description: 'One dataset per instance', schema: datasets, contentType: 'application/dicom+json' } },
    errors: [406],
  };
}

const renderQuery = z.object({
  accept: z.string().optional().describe('image/jpeg (default), image/png or image/webp; overrides Accept'),
  window: z.string().optional().describe('center,width[,linear]'),
  viewport: z.string().optional().describe('width,height: the image is scaled to fit the longer side'),
});

const storeResponse = dicomJsonDataset.describe('Store response: RetrieveURL (00081190), FailedSOPSequence (00081198) with FailureReason (00081197), ReferencedSOPSequence (00081199)');

function store(path: string, params: z.ZodObject | undefined, operationId: string): EndpointDef {
  return {
    method: 'post',
    path,
    operationId,
    summary: params ? 'STOW-RS: store instances into this study' : 'STOW-RS: store instances',
    description:
      'Content-Type: multipart/related; type="application/dicom"; boundary=…. Each part is streamed to disk and ingested like an upload (validation, storage, catalogue, audit, processing). Each part may be up to UPLOAD_MAX_BYTES, the request up to UPLOAD_MAX_INFLATED_BYTES. Failure reasons: 0xC000 cannot understand, 0xA900 belongs to another study, 0xA700 too large, 0x0110 processing failure.',
    tags: ['dicomweb'],
    auth: { roles: UPLOAD_ROLES, scope: 'dicomweb:write' },
    params,
    body: { contentType: 'multipart/related', description: 'DICOM Part 10 files, one per part' },
    responses: {
      200: { description: 'Every instance stored', schema: storeResponse, contentType: 'application/dicom+json' },
      202: { description: 'Some instances stored, some failed', schema: storeResponse, contentType: 'application/dicom+json' },
      409: { description: 'No instance stored', schema: storeResponse, contentType: 'application/dicom+json' },
    },
    errors: [400, 413, 415],
  };
}

const base = '/dicomweb/studies/{study}/series/{series}/instances/{instance}';

export const dicomwebEndpoints = defineEndpoints([
  qido('/dicomweb/studies', 'studies', undefined, 'qidoStudies'),
  qido('/dicomweb/series', 'series', undefined, 'qidoSeries'),
  qido('/dicomweb/instances', 'instances', undefined, 'qidoInstances'),
  qido('/dicomweb/studies/{study}/series', 'series of a study', study, 'qidoStudySeries'),
  qido('/dicomweb/studies/{study}/instances', 'instances of a study', study, 'qidoStudyInstances'),
  qido('/dicomweb/studies/{study}/series/{series}/instances', 'instances of a series', series, 'qidoSeriesInstances'),
  store('/dicomweb/studies', undefined, 'stowStudies'),
  store('/dicomweb/studies/{study}', study, 'stowStudy'),
  retrieve('/dicomweb/studies/{study}', 'study', study, 'wadoStudy'),
  retrieve('/dicomweb/studies/{study}/series/{series}', 'series', series, 'wadoSeries'),
  retrieve(base, 'instance', instance, 'wadoInstance'),
  metadata('/dicomweb/studies/{study}/metadata', 'study', study, 'wadoStudyMetadata'),
  metadata('/dicomweb/studies/{study}/series/{series}/metadata', 'series', series, 'wadoSeriesMetadata'),
  metadata(`${base}/metadata`, 'instance', instance, 'wadoInstanceMetadata'),
  {
    method: 'get',
    path: `${base}/frames/{frames}`,
    operationId: 'wadoFrames',
    summary: 'WADO-RS: frames',
    description:
      'frames: 1-based numbers separated by commas. Accept multipart/related; type="application/octet-stream" (default): uncompressed little-endian frames. Asking for the stored compressed media type (image/jpeg, image/jls, image/jp2, image/jpx, image/dicom-rle) with transfer-syntax=* or the stored UID returns the frames as stored.',
    tags: ['dicomweb'],
    auth: read,
    params: instance.extend({ frames: z.string() }),
    responses: { 200: { description: 'One part per frame', contentType: 'multipart/related' } },
    errors: [400, 406],
  },
  {
    method: 'get',
    path: `${base}/bulkdata/{tag}`,
    operationId: 'wadoBulkData',
    summary: 'WADO-RS: bulk data named by a BulkDataURI',
    description: 'Pixel data as its uncompressed frames; other elements as their value (little endian).',
    tags: ['dicomweb'],
    auth: read,
    params: instance.extend({ tag: z.string() }),
    responses: { 200: { description: 'multipart/related; type="application/octet-stream"', contentType: 'multipart/related' } },
    errors: [406],
  },
  ...(
    [
      ['rendered', 'wadoRendered', 'WADO-RS: the instance rendered (first frame)', instance],
      ['thumbnail', 'wadoThumbnail', 'WADO-RS: a thumbnail (128 pixels on the longer side unless viewport says otherwise)', instance],
      ['frames/{frames}/rendered', 'wadoFrameRendered', 'WADO-RS: one frame rendered', instance.extend({ frames: z.string() })],
    ] as const
  ).map(
    ([suffix, operationId, summary, params]): EndpointDef => ({
      method: 'get',
      path: `${base}/${suffix}`,
      operationId,
      summary,
      description: 'Rendered with the modality LUT and the file\u2019s window (or window=…), by the platform\u2019s renderer.',
      tags: ['dicomweb'],
      auth: read,
      params,
      query: renderQuery,
      responses: { 200: { description: 'The image', contentType: ['image/jpeg', 'image/png', 'image/webp'] } },
      errors: [400, 406],
    }),
  ),
  ...(['get', 'post', 'put', 'patch', 'delete'] as const).map(
    (method): EndpointDef => ({
      method,
      path: '/dicomweb/{path}',
      operationId: `${method}UnknownDicomwebPath`,
      summary: 'Any other /dicomweb path: 404 in the error shape',
      tags: ['dicomweb'],
      auth: 'public',
      catchAll: true,
      params: z.object({ path: z.string() }),
      responses: {},
      errors: [404],
    }),
  ),
]);
