/**
 * Every endpoint of the API. To register new ones: write endpoints/<area>.ts exporting an
 * EndpointDef[] (see registry.ts) and add it here; openapi.test.ts checks that every route file
 * and exported method under app/api and app/dicomweb is described, and validates real responses.
 */
import type { EndpointDef } from '../registry';
import { aiEndpoints } from './ai';
import { auditEndpoints } from './audit';
import { coreEndpoints } from './core';
import { dicomwebEndpoints } from './dicomweb';
import { segmentationEndpoints } from './segmentation';
import { studyEndpoints } from './studies';
import { tokenEndpoints } from './tokens';
import { uploadEndpoints } from './uploads';
import { worklistEndpoints } from './worklist';

export const ALL_ENDPOINTS: EndpointDef[] = [
  ...coreEndpoints,
  ...studyEndpoints,
  ...worklistEndpoints,
  ...segmentationEndpoints,
  ...aiEndpoints,
  ...uploadEndpoints,
  ...tokenEndpoints,
  ...auditEndpoints,
  ...dicomwebEndpoints,
];
