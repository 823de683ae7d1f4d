'use server';

import { revalidatePath } from 'next/cache';
import { ZodError } from 'zod';
import { ApiError } from '@/lib/api/errors';
import { sessionActor } from '@/lib/auth/session';
import { isRole } from '@/lib/auth/roles';
import { changeUser, createUser } from '@/lib/auth/users';
import { fieldErrorsOf, type FormState } from '@/lib/ui/form-state';


function failure(error: unknown): FormState {
  if (error instanceof ZodError) return { fieldErrors: fieldErrorsOf(error.issues) };
  if (error instanceof ApiError) return { error: error.message };
  throw error;
}

export async function createUserAction(_prev: FormState, formData: FormData): Promise<FormState> {
  const actor = await sessionActor('action.create_user');
  if (!actor) return { error: 'Your session has ended; sign in again.' };
  const input = {
    email: String(formData.get('email') ?? ''),
    name: String(formData.get('name') ?? ''),
    password: String(formData.get('password') ?? ''),
    role: String(formData.get('role') ?? '') as never,
  };
  try {
    const created = await createUser(input, actor);
    revalidatePath('/admin/users');
    return { ok: `Created ${created.email}` };
  } catch (error) {
    return failure(error);
  }
}

export async function updateUserAction(_prev: FormState, formData: FormData): Promise<FormState> {
  const actor = await sessionActor('action.update_user');
  if (!actor) return { error: 'Your session has ended; sign in again.' };
  const role = formData.get('role');
  const disabled = formData.get('disabled');
  try {
    await changeUser(
      String(formData.get('userId') ?? ''),
      {
        role: isRole(role) ? role : undefined,
        disabled: disabled === 'true' ? true : disabled === 'false' ? false : undefined,
      },
      actor,
    );
    revalidatePath('/admin/users');
    return { ok: 'Saved' };
  } catch (error) {
    return failure(error);
  }
}
