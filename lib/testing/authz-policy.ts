/**
 * The authorization policy, written out by hand: who may call every route handler, open every
 * page and run every server action. It is deliberately independent of the code it checks (no
 * imports of the roles the handlers declare): the matrix tests (lib/api/authz-matrix.test.ts,
 * e2e/authz.spec.ts) discover the routes, pages and actions in app/ and fail for any that has no
 * entry here, then call each one as every principal and compare what happens with this table.
 *
 * Adding a route: add `'<METHOD> <route path as in app/, route groups dropped>'` to API_POLICY
 * (and a request for it in the matrix test's REQUESTS); a page to PAGE_POLICY; a server action
 * `'<file>#<export>'` to ACTION_POLICY.
 */
import type { UserRole } from '@/db/schema';
import type { RouteScope } from '@/lib/auth/scopes';

export const ROLES = ['admin', 'radiologist', 'clinician', 'viewer'] as const satisfies readonly UserRole[];
const ALL = ROLES;
const UPLOADERS = ['admin', 'radiologist', 'clinician'] as const;
const ADMIN = ['admin'] as const;
const REPORT_WRITERS = ['admin', 'radiologist'] as const;

/**
 * Who calls. Sessions: one per role, a disabled user's, one signed out (its row revoked), one
 * past its idle or absolute limit, and none at all. Tokens: revoked; an admin token holding
 * every scope except the route's; an admin token holding only the route's scope; a viewer token
 * holding every scope (the role still applies to tokens).
 */
export const PRINCIPALS = [
  ...ROLES,
  'disabled',
  'signed-out',
  'expired',
  'anonymous',
  'token-revoked',
  'token-lacking-scope',
  'token-with-scope',
  'token-viewer',
] as const;
export type PrincipalName = (typeof PRINCIPALS)[number];

export interface RoutePolicy {
  /**
   * `public`: anyone, no credentials needed; `absent`: no such resource, 404 for everyone (the
   * API's catch-alls); otherwise the roles that may call it.
   */
  access: 'public' | 'absent' | readonly UserRole[];
  /** The scope a token needs; `null`: tokens are refused. Ignored for public and absent routes. */
  scope?: RouteScope | null;
  /** The resource is the caller's own (another owner's answers 404 like a missing one). */
  owned?: boolean;
  /** Even an allowed caller gets 404: the method is exported only to answer in a protocol's own way (tus GET). */
  notServed?: boolean;
}

export type Expectation = 'allow' | 'deny' | 'absent';

/** What a principal should get from a route, page or action under the policy. */
export function expectedOutcome(policy: RoutePolicy, principal: PrincipalName): Expectation {
  if (policy.access === 'absent') return 'absent';
  if (policy.access === 'public') return 'allow';
  const roles = policy.access as readonly string[];
  if ((ROLES as readonly string[]).includes(principal)) return roles.includes(principal) ? 'allow' : 'deny';
  const scope = policy.scope ?? null;
  switch (principal) {
    case 'token-with-scope':
      return scope !== null && roles.includes('admin') ? 'allow' : 'deny';
    case 'token-lacking-scope':
      return scope === 'none' && roles.includes('admin') ? 'allow' : 'deny';
    case 'token-viewer':
      return scope !== null && roles.includes('viewer') ? 'allow' : 'deny';
    default:
      return 'deny';
  }
}

const read = (scope: RouteScope = 'studies:read'): RoutePolicy => ({ access: ALL, scope });
const absent: RoutePolicy = { access: 'absent' };
const publicRoute: RoutePolicy = { access: 'public' };

/** Route handlers under app/api and app/dicomweb, by method and route path. */
export const API_POLICY: Record<string, RoutePolicy> = {
  ...Object.fromEntries(['GET', 'POST', 'PUT', 'PATCH', 'DELETE'].map((m) => [`${m} /api/[...path]`, absent])),
  'GET /api/assignees': read(),
  'GET /api/auth/[...nextauth]': publicRoute,
  'POST /api/auth/[...nextauth]': publicRoute,
  'GET /api/health': publicRoute,
  'GET /api/openapi.json': publicRoute,
  'GET /api/me': { access: ALL, scope: 'none' },
  'GET /api/instances/[id]/file': read(),
  'GET /api/instances/[id]/tags': read(),
  'GET /api/jobs/[id]': read(),
  'POST /api/process/[id]': { access: UPLOADERS, scope: 'studies:write' },
  'GET /api/saved-searches': read(),
  'POST /api/saved-searches': { access: ALL, scope: 'studies:write' },
  'GET /api/saved-searches/[id]': { ...read(), owned: true },
  'PATCH /api/saved-searches/[id]': { access: ALL, scope: 'studies:write', owned: true },
  'DELETE /api/saved-searches/[id]': { access: ALL, scope: 'studies:write', owned: true },
  'GET /api/segmentations/engines': read('segmentation'),
  'GET /api/segmentations/[id]': read('segmentation'),
  'GET /api/segmentations/[id]/overlay': read('segmentation'),
  'GET /api/segmentations/[id]/labelmap': read('segmentation'),
  'GET /api/studies': read(),
  'GET /api/studies/[id]': read(),
  'PATCH /api/studies/[id]': { access: UPLOADERS, scope: 'studies:write' },
  'GET /api/studies/[id]/audit': { access: ADMIN, scope: 'admin' },
  'GET /api/studies/[id]/image': read(),
  'GET /api/studies/[id]/viewer': read(),
  'GET /api/studies/[id]/segmentations': read('segmentation'),
  'POST /api/studies/[id]/segmentations': { access: UPLOADERS, scope: 'segmentation' },
  // AI: asking is for those who act on images; signed reports are readable by every role.
  'POST /api/analyze': { access: UPLOADERS, scope: 'ai' },
  'GET /api/studies/[id]/reports': read('reports'),
  'GET /api/reports/[id]': read('reports'),
  'GET /api/reports/[id]/export': read('reports'),
  'GET /api/audit': { access: ADMIN, scope: 'admin' },
  'GET /api/tokens': { access: ADMIN, scope: 'admin' },
  'POST /api/tokens': { access: ADMIN, scope: 'admin' },
  'DELETE /api/tokens/[id]': { access: ADMIN, scope: 'admin' },
  // tus: every method but OPTIONS (capability discovery) authenticates; uploads are their owner's.
  'OPTIONS /api/upload/[[...path]]': publicRoute,
  'POST /api/upload/[[...path]]': { access: UPLOADERS, scope: 'studies:write' },
  'HEAD /api/upload/[[...path]]': { access: UPLOADERS, scope: 'studies:write', owned: true },
  'PATCH /api/upload/[[...path]]': { access: UPLOADERS, scope: 'studies:write', owned: true },
  'DELETE /api/upload/[[...path]]': { access: UPLOADERS, scope: 'studies:write', owned: true },
  'GET /api/upload/[[...path]]': { access: UPLOADERS, scope: 'studies:write', owned: true, notServed: true },
  'GET /api/uploads/[id]': { access: UPLOADERS, scope: 'studies:write', owned: true },

  ...Object.fromEntries(['GET', 'POST', 'PUT', 'PATCH', 'DELETE'].map((m) => [`${m} /dicomweb/[...path]`, absent])),
  'GET /dicomweb/studies': read('dicomweb:read'),
  'POST /dicomweb/studies': { access: UPLOADERS, scope: 'dicomweb:write' },
  'GET /dicomweb/series': read('dicomweb:read'),
  'GET /dicomweb/instances': read('dicomweb:read'),
  'GET /dicomweb/studies/[study]': read('dicomweb:read'),
  'POST /dicomweb/studies/[study]': { access: UPLOADERS, scope: 'dicomweb:write' },
  'GET /dicomweb/studies/[study]/metadata': read('dicomweb:read'),
  'GET /dicomweb/studies/[study]/series': read('dicomweb:read'),
  'GET /dicomweb/studies/[study]/instances': read('dicomweb:read'),
  'GET /dicomweb/studies/[study]/series/[series]': read('dicomweb:read'),
  'GET /dicomweb/studies/[study]/series/[series]/metadata': read('dicomweb:read'),
  'GET /dicomweb/studies/[study]/series/[series]/instances': read('dicomweb:read'),
  'GET /dicomweb/studies/[study]/series/[series]/instances/[instance]': read('dicomweb:read'),
  'GET /dicomweb/studies/[study]/series/[series]/instances/[instance]/metadata': read('dicomweb:read'),
  'GET /dicomweb/studies/[study]/series/[series]/instances/[instance]/rendered': read('dicomweb:read'),
  'GET /dicomweb/studies/[study]/series/[series]/instances/[instance]/thumbnail': read('dicomweb:read'),
  'GET /dicomweb/studies/[study]/series/[series]/instances/[instance]/frames/[frames]': read('dicomweb:read'),
  'GET /dicomweb/studies/[study]/series/[series]/instances/[instance]/frames/[frames]/rendered': read('dicomweb:read'),
  'GET /dicomweb/studies/[study]/series/[series]/instances/[instance]/bulkdata/[tag]': read('dicomweb:read'),
};

/** Pages (app/**\/page.tsx) by route path. Tokens never open pages (a bearer header is no session). */
export const PAGE_POLICY: Record<string, RoutePolicy> = {
  '/': { access: ALL },
  '/upload': { access: UPLOADERS },
  '/studies/[id]': { access: ALL },
  '/studies/[id]/view': { access: ALL },
  '/admin/users': { access: ADMIN },
  '/admin/tokens': { access: ADMIN },
  '/admin/audit': { access: ADMIN },
  '/sign-in': publicRoute,
  '/setup': publicRoute,
};

/**
 * Server actions by `<file>#<export>`. Roles are what the action may change: a viewer may call
 * saveSearchAction (saved searches are per user), but not changeStudyWorkflowAction.
 */
export const ACTION_POLICY: Record<string, RoutePolicy> = {
  'app/(app)/actions.ts#signOutAction': { access: ALL },
  'app/(app)/actions.ts#changeStudyWorkflowAction': { access: UPLOADERS },
  'app/(app)/actions.ts#reprocessStudyAction': { access: UPLOADERS },
  'app/(app)/actions.ts#saveSearchAction': { access: ALL },
  'app/(app)/actions.ts#deleteSavedSearchAction': { access: ALL, owned: true },
  // Reports: drafted, edited and signed by radiologists and administrators only.
  'app/(app)/studies/[id]/actions.ts#generateReportAction': { access: REPORT_WRITERS },
  'app/(app)/studies/[id]/actions.ts#saveReportAction': { access: REPORT_WRITERS },
  'app/(app)/studies/[id]/actions.ts#signReportAction': { access: REPORT_WRITERS },
  'app/(app)/admin/users/actions.ts#createUserAction': { access: ADMIN },
  'app/(app)/admin/users/actions.ts#updateUserAction': { access: ADMIN },
  'app/(app)/admin/tokens/actions.ts#createTokenAction': { access: ADMIN },
  'app/(app)/admin/tokens/actions.ts#revokeTokenAction': { access: ADMIN },
  'app/(auth)/sign-in/actions.ts#signInAction': publicRoute,
  'app/(auth)/setup/actions.ts#createFirstAdminAction': publicRoute,
};

/** `GET /api/studies/[id]` for a discovered route and method: the key of API_POLICY. */
export function policyKey(method: string, segments: readonly string[]): string {
  return `${method} /${segments.join('/')}`;
}

/** Entries a discovery found no policy for, with a message that says what to add where. */
export function missingPolicies(keys: readonly string[], table: Record<string, RoutePolicy>, tableName: string): string[] {
  return keys
    .filter((key) => !(key in table))
    .map((key) => `no authorization policy for "${key}": add it to ${tableName} in lib/testing/authz-policy.ts (who may call it, and the token scope)`);
}
