import { describe, expect, it } from 'vitest';
import { GET as openApiRoute } from '@/app/api/openapi.json/route';
import { listAppRoutes, type AppRoute } from '@/lib/testing/app-routes';
import { buildOpenApiDocument, type OpenApiDocument } from './document';
import { createResponseValidator } from './validate';

const doc = buildOpenApiDocument();
const routes = listAppRoutes(['app/api', 'app/dicomweb']);

/** The OpenAPI path templates a route file serves: [x] and [...x] are {x}; [[...x]] is both without and with {x}. */
function templatesOf(route: AppRoute): string[] {
  let paths = [''];
  for (const segment of route.segments) {
    const optional = /^\[\[\.\.\.(\w+)\]\]$/.exec(segment);
    const dynamic = /^\[(?:\.\.\.)?(\w+)\]$/.exec(segment);
    if (optional) paths = paths.flatMap((p) => [p, `${p}/{${optional[1]}}`]);
    else paths = paths.map((p) => `${p}/${dynamic ? `{${dynamic[1]}}` : segment}`);
  }
  return paths.map((p) => p || '/');
}

/** Route methods the document does not describe. */
function undocumented(routeList: AppRoute[], document: OpenApiDocument): string[] {
  const missing: string[] = [];
  for (const route of routeList) {
    for (const method of route.methods) {
      const documented = templatesOf(route).some((template) => document.paths[template]?.[method.toLowerCase()]);
      if (!documented) missing.push(`${method} ${templatesOf(route).join(' | ')} (${route.file})`);
    }
  }
  return missing;
}

/** Documented operations that no route serves. */
function phantoms(routeList: AppRoute[], document: OpenApiDocument): string[] {
  const served = new Set(routeList.flatMap((route) => templatesOf(route).flatMap((t) => route.methods.map((m) => `${m.toLowerCase()} ${t}`))));
  return Object.entries(document.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m} ${path}`)).filter((op) => !served.has(op));
}

describe('OpenAPI document', () => {
  it('describes every route file and every HTTP method it exports (app/api and app/dicomweb)', () => {
    expect(routes.length).toBeGreaterThan(30);
    for (const route of routes) expect(route.methods.length, `${route.file} exports no HTTP method`).toBeGreaterThan(0);
    expect(undocumented(routes, doc), 'register these in lib/api/openapi/endpoints (see registry.ts)').toEqual([]);
  });

  it('documents nothing that no route serves', () => {
    expect(phantoms(routes, doc)).toEqual([]);
  });

  it('the coverage checks catch a new route, a new method and a stale description', () => {
    const extra: AppRoute[] = [
      { file: 'app/api/widgets/[id]/route.ts', segments: ['api', 'widgets', '[id]'], methods: ['GET'] },
      { ...routes.find((r) => r.file === 'app/api/health/route.ts')!, methods: ['GET', 'POST'] },
    ];
    expect(undocumented(extra, doc)).toEqual(['GET /api/widgets/{id} (app/api/widgets/[id]/route.ts)', 'POST /api/health (app/api/health/route.ts)']);
    expect(phantoms(routes.filter((r) => r.file !== 'app/api/jobs/[id]/route.ts'), doc)).toEqual(['get /api/jobs/{id}']);
  });

  it('is OpenAPI 3.1 with unique operation ids, declared path parameters and valid JSON Schemas', () => {
    expect(doc.openapi).toBe('3.1.0');
    const ids = Object.values(doc.paths).flatMap((ops) => Object.values(ops).map((op) => op.operationId));
    expect(new Set(ids).size).toBe(ids.length);
    for (const [path, ops] of Object.entries(doc.paths)) {
      const templated = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
      for (const [method, op] of Object.entries(ops)) {
        const declared = ((op.parameters ?? []) as Array<{ in: string; name: string; required: boolean }>).filter((p) => p.in === 'path');
        expect(declared.map((p) => p.name).sort(), `${method} ${path}`).toEqual(templated);
        expect(declared.every((p) => p.required)).toBe(true);
        // Every operation says how it fails.
        expect(Object.keys(op.responses as object), `${method} ${path}`).toContain('default');
      }
    }
    expect(createResponseValidator(doc).compileAll()).toBeGreaterThan(50);
  });

  it('every JSON response has a schema, and the error shape is the same everywhere', () => {
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        for (const [status, response] of Object.entries(op.responses as Record<string, { content?: Record<string, { schema?: unknown }> }>)) {
          for (const [type, media] of Object.entries(response.content ?? {})) {
            if (/json/.test(type) && !(path === '/api/auth/{nextauth}' && status === '200')) expect(media.schema, `${method} ${path} ${status} ${type}`).toBeDefined();
            if (/^[45]|default/.test(status) && type === 'application/json' && status !== '409') {
              expect(media.schema, `${method} ${path} ${status}`).toEqual(doc.components.schemas && (doc.components.schemas as Record<string, unknown>).Error);
            }
          }
        }
      }
    }
  });

  it('is served at GET /api/openapi.json without authentication', async () => {
    const res = await openApiRoute(new Request('http://app.test/api/openapi.json'));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await res.json()).toEqual(JSON.parse(JSON.stringify(doc)));
  });

  it('the validator refuses what the document does not describe', () => {
    const validator = createResponseValidator(doc);
    const good = { status: 'ok', database: 'postgres' };
    expect(validator.check('GET', '/api/health', 200, 'application/json', good).errors).toEqual([]);
    expect(validator.check('GET', '/api/health', 200, 'application/json', { ...good, database: 'sqlite' }).errors).not.toEqual([]);
    expect(validator.check('GET', '/api/health', 200, 'application/json', { ...good, extra: 1 }).errors).not.toEqual([]);
    expect(validator.check('GET', '/api/health', 418, 'application/json', good).errors).not.toEqual([]);
    expect(validator.check('GET', '/api/health', 200, 'text/html', good).errors).not.toEqual([]);
    expect(validator.check('GET', '/api/studies/not-a-template', 404, 'application/json', { error: { code: 'not_found' } }).errors).not.toEqual([]);
  });

  it('documents response headers, and the validator refuses a response without them', () => {
    const overlay = '/api/segmentations/00000000-0000-4000-8000-000000000000/overlay';
    const responses = doc.paths['/api/segmentations/{id}/overlay']!.get!.responses as Record<string, { headers?: object }>;
    expect(Object.keys(responses['200']!.headers ?? {})).toEqual(['X-Slice-Index', 'X-Slice-Count', 'X-Overlay-Width', 'X-Overlay-Height']);
    const validator = createResponseValidator(doc);
    const sent = new Headers({ 'X-Slice-Index': '0', 'X-Slice-Count': '1', 'X-Overlay-Width': '4', 'X-Overlay-Height': '4' });
    expect(validator.check('GET', overlay, 200, 'image/png', Buffer.alloc(0), sent).errors).toEqual([]);
    sent.delete('X-Overlay-Height');
    expect(validator.check('GET', overlay, 200, 'image/png', Buffer.alloc(0), sent).errors).toEqual(['documented header X-Overlay-Height is missing']);
  });

});
