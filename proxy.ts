import NextAuth from 'next-auth';
import { NextResponse, type NextFetchEvent, type NextRequest } from 'next/server';
import { baseAuthConfig } from '@/lib/auth/config';

// Only the cookie is checked here; pages, route handlers and server actions re-check the user
// against the database themselves, since a proxy matcher is easy to get wrong.
const { auth } = NextAuth(() => baseAuthConfig());

const PUBLIC_PAGES = ['/sign-in', '/setup'];

type Guard = (req: NextRequest, event: NextFetchEvent) => Promise<Response | undefined>;

// With a lazily built config, Auth.js hands back the wrapped handler asynchronously.
const guard = auth((req) => {
  if (!req.auth) {
    const { pathname, search } = req.nextUrl;
    const url = new URL('/sign-in', req.nextUrl);
    if (pathname !== '/') url.searchParams.set('callbackUrl', pathname + search);
    return NextResponse.redirect(url);
  }
  return NextResponse.next();
}) as unknown as Promise<Guard>;

export async function proxy(req: NextRequest, event: NextFetchEvent) {
  const { pathname } = req.nextUrl;
  if (PUBLIC_PAGES.some((p) => pathname === p || pathname.startsWith(`${p}/`))) return NextResponse.next();
  return (await guard)(req, event);
}

export const config = {
  // /api and /dicomweb are excluded as a whole: route handlers authenticate themselves (sessions
  // or bearer tokens), and a proxy in front of uploads or STOW-RS would truncate bodies at 10 MB.
  matcher: ['/((?!api/|api$|dicomweb/|dicomweb$|_next/static|_next/image|assets/|favicon.ico|robots.txt).*)'],
};
