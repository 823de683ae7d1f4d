/**
 * The DICOMweb route handlers, built here so that each app/dicomweb route file is one line. All
 * go through withApi: session cookie or bearer token (scopes dicomweb:read / dicomweb:write),
 * errors in the API's error shape.
 */
import { z } from 'zod';
import { withApi } from '@/lib/api/route';
import { UPLOAD_ROLES } from '@/lib/ingest/uploads';
import { dicomJsonResponse, notAcceptable, parseAccept, accepts } from './media';
import { dicomwebBase } from './paths';
import { parseQidoQuery, searchDicomweb, type QidoLevel } from './qido';
import { storeInstances } from './stow';
import { parseRenderRequest, retrieveBulkData, retrieveFrames, retrieveInstances, retrieveMetadata, retrieveRendered, parseFrameList } from './wado';

const uid = z.string().max(64).regex(/^[0-9]+(\.[0-9]+)*$/);
const studyParams = z.object({ study: uid });
const seriesParams = z.object({ study: uid, series: uid });
const instanceParams = z.object({ study: uid, series: uid, instance: uid });
const framesParams = instanceParams.extend({ frames: z.string().max(100_000) });
const bulkParams = instanceParams.extend({ tag: z.string().max(16) });

type StudyParams = z.infer<typeof studyParams>;
type SeriesParams = z.infer<typeof seriesParams>;

const read = { scope: 'dicomweb:read' } as const;

function checkJsonAccept(req: Request): void {
  if (!accepts(parseAccept(req.headers.get('accept')), 'application/dicom+json', 'application/json')) {
    throw notAcceptable('Search results are available as application/dicom+json');
  }
}

/** QIDO-RS at `level`, optionally inside a study (and series) named by the path. */
export function searchHandler(level: QidoLevel, within: 'none' | 'study' | 'series' = 'none') {
  const params = within === 'series' ? seriesParams : within === 'study' ? studyParams : z.object({});
  return withApi(
    async ({ req, params: p, actor }) => {
      checkJsonAccept(req);
      const scope = p as Partial<SeriesParams>;
      const request = parseQidoQuery(new URL(req.url).searchParams, { studyInstanceUid: scope.study, seriesInstanceUid: scope.series });
      const result = await searchDicomweb(actor, level, request, dicomwebBase(req));
      const warnings: string[] = [];
      if (result.truncated) warnings.push('299 imaging-platform "There are additional results that can be requested"');
      if (result.ignored.length) warnings.push(`299 imaging-platform "The following query keys are not supported and were ignored: ${result.ignored.join(', ')}"`);
      return dicomJsonResponse(result.body, { headers: warnings.length ? { Warning: warnings.join(', ') } : {} });
    },
    { ...read, params: params as z.ZodType<Partial<SeriesParams>>, action: `dicomweb.search_${level}` },
  );
}

export function retrieveHandler(level: 'study' | 'series' | 'instance') {
  const params = level === 'instance' ? instanceParams : level === 'series' ? seriesParams : studyParams;
  return withApi(
    async ({ req, params: p, actor }) => {
      const t = p as z.infer<typeof instanceParams>;
      return retrieveInstances(actor, { studyInstanceUid: t.study, seriesInstanceUid: t.series, sopInstanceUid: t.instance }, req.headers.get('accept'), dicomwebBase(req));
    },
    { ...read, params: params as z.ZodType<StudyParams & Partial<z.infer<typeof instanceParams>>>, action: `dicomweb.retrieve_${level}` },
  );
}

export function metadataHandler(level: 'study' | 'series' | 'instance') {
  const params = level === 'instance' ? instanceParams : level === 'series' ? seriesParams : studyParams;
  return withApi(
    async ({ req, params: p, actor }) => {
      const t = p as z.infer<typeof instanceParams>;
      const body = await retrieveMetadata(actor, { studyInstanceUid: t.study, seriesInstanceUid: t.series, sopInstanceUid: t.instance }, req.headers.get('accept'), dicomwebBase(req));
      return dicomJsonResponse(body);
    },
    { ...read, params: params as z.ZodType<StudyParams & Partial<z.infer<typeof instanceParams>>>, action: `dicomweb.metadata_${level}` },
  );
}

const target = (p: z.infer<typeof instanceParams>) => ({ studyInstanceUid: p.study, seriesInstanceUid: p.series, sopInstanceUid: p.instance });

export const framesHandler = withApi(async ({ req, params, actor }) => retrieveFrames(actor, target(params), params.frames, req.headers.get('accept')), {
  ...read,
  params: framesParams,
  action: 'dicomweb.retrieve_frames',
});

export const bulkDataHandler = withApi(async ({ req, params, actor }) => retrieveBulkData(actor, target(params), params.tag, req.headers.get('accept')), {
  ...read,
  params: bulkParams,
  action: 'dicomweb.retrieve_bulkdata',
});

export const renderedHandler = withApi(
  async ({ req, params, actor }) => retrieveRendered(actor, target(params), 1, parseRenderRequest(new URL(req.url), req.headers.get('accept'))),
  { ...read, params: instanceParams, action: 'dicomweb.retrieve_rendered' },
);

export const thumbnailHandler = withApi(
  async ({ req, params, actor }) => retrieveRendered(actor, target(params), 1, parseRenderRequest(new URL(req.url), req.headers.get('accept'), { size: 128 }), 'retrieve_thumbnail'),
  { ...read, params: instanceParams, action: 'dicomweb.retrieve_thumbnail' },
);

/** Rendered frames: one frame only (a single image cannot hold several). */
export const framesRenderedHandler = withApi(
  async ({ req, params, actor }) => {
    const frames = parseFrameList(params.frames);
    if (frames.length !== 1) throw notAcceptable('Rendered frames are returned one at a time; ask for a single frame number');
    return retrieveRendered(actor, target(params), frames[0]!, parseRenderRequest(new URL(req.url), req.headers.get('accept')));
  },
  { ...read, params: framesParams, action: 'dicomweb.retrieve_rendered' },
);

/** STOW-RS, optionally into the study the path names. */
export function storeHandler(within: 'none' | 'study') {
  return withApi(
    async ({ req, params, principal, actor }) =>
      storeInstances(req, principal, actor, { base: dicomwebBase(req), studyInstanceUid: (params as Partial<StudyParams>).study }),
    { scope: 'dicomweb:write', roles: UPLOAD_ROLES, params: (within === 'study' ? studyParams : z.object({})) as z.ZodType<Partial<StudyParams>>, action: 'dicomweb.store' },
  );
}
