import NextAuth, { CredentialsSignin } from 'next-auth';
import Credentials from 'next-auth/providers/credentials';
import { requestMeta } from '@/lib/api/request-meta';
import { authenticate, SignInRejected } from './authenticate';
import { baseAuthConfig } from './config';

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
          const user = await authenticate(credentials, requestMeta(request.headers));
          return { id: user.id, email: user.email, name: user.name, role: user.role, sessionVersion: user.sessionVersion };
        } catch (error) {
          if (error instanceof SignInRejected) throw new RejectedSignIn(error.reason);
          throw error;
        }
      },
    }),
  ],
}));
