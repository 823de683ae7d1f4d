import { describe, expect, it } from 'vitest';
import { exportedMethods, listAppRoutes, matchRoute, sortBySpecificity } from './app-routes';

describe('app route discovery', () => {
  it('reads the HTTP methods a route module exports, in every form', () => {
    expect(exportedMethods('export const GET = withApi(x);\nexport async function POST() {}\nexport function helper() {}')).toEqual(['GET', 'POST']);
    expect(exportedMethods("export { handle as GET, handle as HEAD, other as DELETE, notAMethod };\nexport { PATCH } from './x';")).toEqual(['GET', 'HEAD', 'PATCH', 'DELETE']);
    expect(exportedMethods("export const dynamic = 'force-dynamic';")).toEqual([]);
  });

  it('finds the route files under app/api and app/dicomweb, and matches URLs as Next.js does', () => {
    const routes = sortBySpecificity(listAppRoutes(['app/api', 'app/dicomweb']));
    const first = (pathname: string) => routes.find((r) => matchRoute(r, pathname))?.file;
    expect(first('/api/studies')).toBe('app/api/studies/route.ts');
    expect(first('/api/studies/abc/image')).toBe('app/api/studies/[id]/image/route.ts');
    expect(first('/api/openapi.json')).toBe('app/api/openapi.json/route.ts');
    expect(first('/api/upload')).toBe('app/api/upload/[[...path]]/route.ts');
    expect(first('/api/nothing/here')).toBe('app/api/[...path]/route.ts');
    expect(first('/dicomweb/studies/1.2/series/3.4/instances/5.6/frames/1,2')).toBe('app/dicomweb/studies/[study]/series/[series]/instances/[instance]/frames/[frames]/route.ts');
    expect(matchRoute(routes.find((r) => r.file === 'app/api/upload/[[...path]]/route.ts')!, '/api/upload/a/b')).toEqual({ path: ['a', 'b'] });
  });
});
