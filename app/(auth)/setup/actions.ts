'use server';

import { AuthError } from 'next-auth';
import { redirect } from 'next/navigation';
import { actionFailure } from '@/lib/api/action-result';
import { signIn } from '@/lib/auth';
import { actorFor } from '@/lib/auth/session';
import { createFirstAdmin, FirstRunClosed } from '@/lib/auth/users';
import type { FormState } from '@/lib/ui/form-state';

export async function createFirstAdminAction(_prev: FormState, formData: FormData): Promise<FormState> {
  const input = {
    email: String(formData.get('email') ?? ''),
    name: String(formData.get('name') ?? ''),
    password: String(formData.get('password') ?? ''),
  };
  if (input.password !== String(formData.get('confirm') ?? '')) {
    return { fieldErrors: { confirm: 'Passwords do not match' } };
  }
  try {
    await createFirstAdmin(input, await actorFor(null));
  } catch (error) {
    if (error instanceof FirstRunClosed) redirect('/sign-in');
    return actionFailure(error, { fieldsOnly: true });
  }
  try {
    await signIn('credentials', { email: input.email, password: input.password, redirect: false });
  } catch (error) {
    if (error instanceof AuthError) redirect('/sign-in');
    throw error;
  }
  redirect('/');
}
