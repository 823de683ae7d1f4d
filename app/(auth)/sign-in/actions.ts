'use server';

import { AuthError, CredentialsSignin } from 'next-auth';
import { redirect } from 'next/navigation';
import { signIn } from '@/lib/auth';
import { safeCallbackUrl, type FormState } from '@/lib/ui/form-state';

export async function signInAction(_prev: FormState, formData: FormData): Promise<FormState> {
  const email = formData.get('email');
  const password = formData.get('password');
  if (typeof email !== 'string' || typeof password !== 'string' || !email || !password) {
    return { error: 'Enter your email and password.', values: { email: typeof email === 'string' ? email : '' } };
  }
  try {
    await signIn('credentials', { email, password, redirect: false });
  } catch (error) {
    if (error instanceof CredentialsSignin) {
      return {
        values: { email },
        error:
          error.code === 'throttled'
            ? 'Too many failed sign-in attempts. Wait a few minutes and try again.'
            : 'Invalid email or password.',
      };
    }
    if (error instanceof AuthError) return { error: 'Sign-in failed. Try again.', values: { email } };
    throw error;
  }
  redirect(safeCallbackUrl(formData.get('callbackUrl')));
}
