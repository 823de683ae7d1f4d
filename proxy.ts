import NextAuth from 'next-auth';
import { NextResponse, type NextFetchEvent, type NextRequest } from 'next/server';
import { isDatabaseDown } from '@/db/availability';
import { baseAuthConfig } from '@/lib/auth/config';
import { contentSecurityPolicy, generateNonce } from '@/lib/security/headers';
import { isCrossSiteRequest } from '@/lib/security/origin';
import { OUTAGE_RETRY_SECONDS, outagePage } from '@/lib/ui/outage';

// Only the cookie is checked here; pages, route handlers and server actions re-check the user
// against the database themselves, since a proxy matcher is easy to get wrong.
const { auth } = NextAuth(() => baseAuthConfig());

const PUBLIC_PAGES = ['/sign-in', '/setup'];

type Guard = (req: NextRequest, event: NextFetchEvent) => Promise<Response | undefined>;

/**
 * Lets the request through with a fresh Content Security Policy: Next.js reads the nonce from the
 * request's policy header and stamps it on the scripts it renders; the browser enforces the
 * policy sent with the response.
 */
function nextWithPolicy(req: NextRequest): NextResponse {
  const policy = contentSecurityPolicy({ nonce: generateNonce(), dev: process.env.NODE_ENV === 'development' });
  const headers = new Headers(req.headers);
  headers.set('content-security-policy', policy);
  const res = NextResponse.next({ request: { headers } });
  res.headers.set('Content-Security-Policy', policy);
  return res;
}

// With a lazily built config, Auth.js hands back the wrapped handler asynchronously.
const guard = auth((req) => {
  // A server action without a session goes on to the action, which checks the session itself
  // (the authorization matrix proves each does) and audits the refused call: a redirect would
  // refuse it silently.
  if (!req.auth && req.method === 'POST' && req.headers.has('next-action')) return nextWithPolicy(req);
  if (!req.auth) {
    const { pathname, search } = req.nextUrl;
    const url = new URL('/sign-in', req.nextUrl);
    if (pathname !== '/') url.searchParams.set('callbackUrl', pathname + search);
    return NextResponse.redirect(url);
  }
  return nextWithPolicy(req);
}) as unknown as Promise<Guard>;

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export async function proxy(req: NextRequest, event: NextFetchEvent) {
  const { pathname } = req.nextUrl;
  // Server actions and form posts from another site (CSRF, login CSRF) stop here, before any
  // action runs; Next.js's own Origin check would answer them with a 500.
  if (!SAFE_METHODS.has(req.method) && isCrossSiteRequest(req)) {
    return new NextResponse('Cross-site requests are refused', { status: 403, headers: { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' } });
  }
  // Every page needs the database (the session is checked against it): while it is away, say so
  // with a 503 before rendering, since a page that fails to render is answered with a 500.
  if (SAFE_METHODS.has(req.method) && (await isDatabaseDown())) return outageResponse();
  if (PUBLIC_PAGES.some((p) => pathname === p || pathname.startsWith(`${p}/`))) return nextWithPolicy(req);
  return (await guard)(req, event);
}

function outageResponse(): NextResponse {
  return new NextResponse(outagePage(), {
    status: 503,
    headers: {
      'Content-Type': 'text/html; charset=utf-8',
      'Retry-After': String(OUTAGE_RETRY_SECONDS),
      'Cache-Control': 'no-store',
      // The page runs no script at all.
      'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
    },
  });
}

export const config = {
  // /api and /dicomweb are excluded as a whole: route handlers authenticate themselves (sessions
  // or bearer tokens), and a proxy in front of uploads or STOW-RS would truncate bodies at 10 MB.
  // Router prefetches are skipped: they render nothing a policy applies to, and a session cookie
  // refreshed on a prefetch that was in flight during sign-out would outlive the sign-out.
  matcher: [
    {
      source: '/((?!api/|api$|dicomweb/|dicomweb$|_next/static|_next/image|assets/|favicon.ico|robots.txt).*)',
      missing: [
        { type: 'header', key: 'next-router-prefetch' },
        { type: 'header', key: 'purpose', value: 'prefetch' },
      ],
    },
  ],
};
