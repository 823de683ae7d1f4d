import NextAuth, { CredentialsSignin } from 'next-auth';
import Credentials from 'next-auth/providers/credentials';
import { requestMeta } from '@/lib/api/request-meta';
import { authenticate, SignInRejected } from './authenticate';
import { baseAuthConfig } from './config';
import { openSession } from './sessions';

/** Carries the rejection reason to the sign-in action without hinting which part was wrong. */
class RejectedSignIn extends CredentialsSignin {
  constructor(reason: string) {
    super();
    this.code = reason;
  }
}

export const { handlers, auth, signIn, signOut } = NextAuth(() => ({
  ...baseAuthConfig(),
  providers: [
    Credentials({
      credentials: { email: { label: 'Email', type: 'email' }, password: { label: 'Password', type: 'password' } },
      async authorize(credentials, request) {
        try {
          const meta = requestMeta(request.headers);
          const user = await authenticate(credentials, meta);
          const session = await openSession(user, meta);
          return { id: user.id, email: user.email, name: user.name, role: user.role, sessionVersion: user.sessionVersion, sid: session.id };
        } catch (error) {
          if (error instanceof SignInRejected) throw new RejectedSignIn(error.reason);
          throw error;
        }
      },
    }),
  ],
}));
