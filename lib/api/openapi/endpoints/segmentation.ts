import { z } from 'zod';
import type { describeEngines } from '@/lib/segmentation/engines';
import { segmentationRequestSchema } from '@/lib/segmentation/engines';
import { overlayQuerySchema, SEGMENTATION_ROLES, type SegmentationView } from '@/lib/segmentation/service';
import { defineEndpoints, type Assert, type Fits } from '../registry';
import { segmentationAcceptedSchema, segmentationEngineListSchema, segmentationListSchema, segmentationResponseSchema, segmentationSchema } from '../schemas';

const id = z.object({ id: z.uuid() });
const scope = { scope: 'segmentation' } as const;

// What the lib returns must fit the schemas the handlers answer with.
export type _SegmentationSchemasFit = [
  Assert<Fits<typeof segmentationSchema, SegmentationView>>,
  Assert<Fits<typeof segmentationEngineListSchema.shape.engines.element, Awaited<ReturnType<typeof describeEngines>>[number]>>,
];

export const segmentationEndpoints = defineEndpoints([
  {
    method: 'post',
    path: '/api/studies/{id}/segmentations',
    operationId: 'requestSegmentation',
    summary: 'Segment a series of the study as a durable job (audited as segmentation.request)',
    description:
      'Answers at once with the segmentation (queued) and its job; poll GET /api/segmentations/{id}. While an identical request is queued or running, that one is answered (created: false). 404 also for a series not in this study (or without images); 400 for a modality the engine does not segment; 503 not_configured when the engine (TotalSegmentator) is not available on this server (a server-side condition, not a conflict with the request).',
    tags: ['segmentation'],
    auth: { roles: SEGMENTATION_ROLES, scope: 'segmentation' },
    params: id,
    body: { schema: segmentationRequestSchema },
    responses: {
      202: { description: 'Queued (or joined)', schema: segmentationAcceptedSchema, headers: { Location: 'The segmentation: /api/segmentations/{id}' } },
    },
    errors: [413, 415],
  },
  {
    method: 'get',
    path: '/api/studies/{id}/segmentations',
    operationId: 'listStudySegmentations',
    summary: 'The study\u2019s segmentations with their structures and volumes (audited as segmentation.list)',
    tags: ['segmentation'],
    auth: scope,
    params: id,
    responses: { 200: { description: 'The segmentations', schema: segmentationListSchema } },
  },
  {
    method: 'get',
    path: '/api/segmentations/{id}',
    operationId: 'getSegmentation',
    summary: 'One segmentation: status, progress, structures (audited as segmentation.read)',
    tags: ['segmentation'],
    auth: scope,
    params: id,
    responses: { 200: { description: 'The segmentation', schema: segmentationResponseSchema } },
  },
  {
    method: 'get',
    path: '/api/segmentations/{id}/overlay',
    operationId: 'getSegmentationOverlay',
    summary: 'One slice of the label map as an RGBA PNG aligned with the image (audited as segmentation.overlay)',
    description:
      'Give slice (0-based, the viewer\u2019s order) or sop (the SOP Instance UID of the image); labels=1,3 keeps only those structures. Each structure is opaque in its colour, the rest transparent. 409 until the segmentation has succeeded; 404 for a slice that does not exist.',
    tags: ['segmentation'],
    auth: scope,
    params: id,
    query: overlayQuerySchema,
    responses: {
      200: {
        description: 'The overlay PNG',
        contentType: 'image/png',
        headers: { 'X-Slice-Index': 'The slice (0-based)', 'X-Slice-Count': 'Slices in the label map', 'X-Overlay-Width': 'Pixels', 'X-Overlay-Height': 'Pixels' },
      },
    },
    errors: [409],
  },
  {
    method: 'get',
    path: '/api/segmentations/{id}/labelmap',
    operationId: 'getSegmentationLabelMap',
    summary: 'The label map as NIfTI-1 (audited as segmentation.download)',
    description: 'uint8 on the series\u2019 grid with its world matrix; voxel values are the structures\u2019 labels. 409 until the segmentation has succeeded.',
    tags: ['segmentation'],
    auth: scope,
    params: id,
    responses: {
      200: { description: 'The NIfTI-1 file', contentType: 'application/octet-stream', headers: { 'Content-Disposition': 'attachment, with a .nii file name' } },
    },
    errors: [409],
  },
  {
    method: 'get',
    path: '/api/segmentations/engines',
    operationId: 'listSegmentationEngines',
    summary: 'The segmentation engines, whether each can run on this server, and what they take',
    tags: ['segmentation'],
    auth: scope,
    responses: { 200: { description: 'The engines', schema: segmentationEngineListSchema } },
  },
]);
