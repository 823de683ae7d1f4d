import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

export const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];

export interface AppRoute {
  /** Path of the route file, relative to the repository root. */
  file: string;
  /** Next segments: 'api', '[id]', '[...path]', '[[...path]]'; route groups '(x)' removed. */
  segments: string[];
  /** The HTTP methods the file exports. */
  methods: HttpMethod[];
}

const root = path.resolve(import.meta.dirname, '..', '..');

function walk(dir: string, out: string[]): void {
  for (const name of readdirSync(dir)) {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) walk(full, out);
    else if (/^route\.(ts|tsx|js|mjs)$/.test(name)) out.push(full);
  }
}

/**
 * The methods a route module exports, read from its source: `export const GET`, `export async
 * function POST`, `export { a as GET, POST }` (with or without `from`).
 */
export function exportedMethods(source: string): HttpMethod[] {
  const found = new Set<HttpMethod>();
  const is = (name: string): name is HttpMethod => (HTTP_METHODS as readonly string[]).includes(name);
  for (const m of source.matchAll(/export\s+(?:const|let|var|async\s+function|function)\s+([A-Z]+)\b/g)) if (is(m[1]!)) found.add(m[1]!);
  for (const m of source.matchAll(/export\s*\{([^}]*)\}/g)) {
    for (const spec of m[1]!.split(',')) {
      const name = spec.trim().split(/\s+as\s+/).pop()!.trim();
      if (is(name)) found.add(name);
    }
  }
  return HTTP_METHODS.filter((m) => found.has(m));
}

/** Every route file under the given app/ folders (e.g. 'app/api', 'app/dicomweb'). */
export function listAppRoutes(folders: string[]): AppRoute[] {
  const files: string[] = [];
  for (const folder of folders) walk(path.join(root, folder), files);
  return files.sort().map((full) => {
    const rel = path.relative(root, full);
    const segments = path.dirname(rel).split(path.sep).slice(1).filter((s) => !/^\(.*\)$/.test(s));
    return { file: rel, segments, methods: exportedMethods(readFileSync(full, 'utf8')) };
  });
}

/** Matches a URL path against a route's segments; the params Next would pass, or null. */
export function matchRoute(route: AppRoute, pathname: string): Record<string, string | string[]> | null {
  const parts = pathname.split('/').filter(Boolean).map(decodeURIComponent);
  const params: Record<string, string | string[]> = {};
  let i = 0;
  for (const segment of route.segments) {
    const optionalCatchAll = /^\[\[\.\.\.(\w+)\]\]$/.exec(segment);
    const catchAll = /^\[\.\.\.(\w+)\]$/.exec(segment);
    const dynamic = /^\[(\w+)\]$/.exec(segment);
    if (optionalCatchAll || catchAll) {
      const rest = parts.slice(i);
      if (catchAll && rest.length === 0) return null;
      if (rest.length) params[(optionalCatchAll ?? catchAll)![1]!] = rest;
      return params;
    }
    const part = parts[i++];
    if (part === undefined) return null;
    if (dynamic) params[dynamic[1]!] = part;
    else if (part !== segment) return null;
  }
  return i === parts.length ? params : null;
}

/** Static segments first, dynamic next, catch-alls last, as Next.js resolves them. */
function specificity(route: AppRoute): number[] {
  return route.segments.map((s) => (s.startsWith('[[...') ? 3 : s.startsWith('[...') ? 2 : s.startsWith('[') ? 1 : 0));
}

export function sortBySpecificity(routes: AppRoute[]): AppRoute[] {
  return [...routes].sort((a, b) => {
    const sa = specificity(a);
    const sb = specificity(b);
    for (let i = 0; i < Math.max(sa.length, sb.length); i++) {
      const d = (sa[i] ?? -1) - (sb[i] ?? -1);
      if (d !== 0) return d;
    }
    return 0;
  });
}

type Handler = (req: Request, ctx: { params: Promise<Record<string, string | string[]>> }) => Promise<Response>;

/**
 * A fetch-style dispatcher over the real route modules (imported on first use), for serving the
 * app's route handlers through lib/testing/http.ts without a Next.js build.
 */
export function appRouter(folders: string[]): (req: Request) => Promise<Response> {
  const routes = sortBySpecificity(listAppRoutes(folders));
  const modules = new Map<string, Promise<Record<string, unknown>>>();
  return async (req) => {
    const { pathname } = new URL(req.url);
    for (const route of routes) {
      const params = matchRoute(route, pathname);
      if (!params) continue;
      let mod = modules.get(route.file);
      if (!mod) {
        mod = import(/* @vite-ignore */ path.join(root, route.file)) as Promise<Record<string, unknown>>;
        modules.set(route.file, mod);
      }
      const handler = (await mod)[req.method] as Handler | undefined;
      if (!handler) return new Response(null, { status: 405 });
      return handler(req, { params: Promise.resolve(params) });
    }
    return new Response(null, { status: 404 });
  };
}
