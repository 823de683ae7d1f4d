import type { NextAuthConfig } from 'next-auth';
import { getEnv } from '@/lib/env';

/**
 * The part of the Auth.js configuration that needs no database, shared by the proxy (which only
 * checks that a valid session cookie exists) and the full setup in ./index.ts.
 */
export function baseAuthConfig(): NextAuthConfig {
  const env = getEnv();
  return {
    secret: env.authSecret,
    // The app is reached through its own host name or a reverse proxy, never a fixed AUTH_URL.
    trustHost: true,
    session: { strategy: 'jwt', maxAge: env.sessionMaxAgeSeconds, updateAge: 5 * 60 },
    jwt: { maxAge: env.sessionMaxAgeSeconds },
    pages: { signIn: '/sign-in', error: '/sign-in' },
    providers: [],
    logger: {
      // A rejected password is an expected outcome, already audited; not a server error.
      error(error) {
        if (error.name === 'CredentialsSignin' || (error as { type?: string }).type === 'CredentialsSignin') return;
        console.error('[auth]', error);
      },
    },
    callbacks: {
      jwt({ token, user }) {
        if (user) {
          const u = user as { id?: string; role?: string; sessionVersion?: number; sid?: string };
          token.sub = u.id;
          token.role = u.role;
          token.sv = u.sessionVersion;
          token.sid = u.sid;
        }
        return token;
      },
      session({ session, token }) {
        return {
          ...session,
          user: { ...session.user, id: token.sub ?? '', role: token.role, sv: token.sv, sid: token.sid },
        };
      },
    },
  };
}
