/**
 * What an API token may do, on top of its role. Browser sessions are bounded by the role alone;
 * a token needs both the role and the scope a route declares (least privilege for integrations).
 */
export const API_SCOPES = [
  'studies:read', // worklist, study detail, images, viewer files, tags, jobs
  'studies:write', // upload, (re)process, workflow changes
  'ai', // image questions and report drafts
  'reports', // read and write reports
  'segmentation', // run and read segmentations
  'dicomweb:read', // QIDO-RS, WADO-RS
  'dicomweb:write', // STOW-RS
  'admin', // users, tokens, audit trail
] as const;

export type ApiScope = (typeof API_SCOPES)[number];

export const SCOPE_LABELS: Record<ApiScope, string> = {
  'studies:read': 'Read studies and images',
  'studies:write': 'Upload and process studies',
  ai: 'Ask AI questions',
  reports: 'Read and write reports',
  segmentation: 'Run segmentations',
  'dicomweb:read': 'DICOMweb search and retrieve',
  'dicomweb:write': 'DICOMweb store',
  admin: 'Administration',
};

export function isApiScope(value: unknown): value is ApiScope {
  return typeof value === 'string' && (API_SCOPES as readonly string[]).includes(value);
}

/** `none`: the route needs no scope (e.g. /api/me); tokens still need a valid secret. */
export type RouteScope = ApiScope | 'none';

export function tokenHasScope(scopes: readonly string[], required: RouteScope): boolean {
  return required === 'none' || scopes.includes(required);
}
