'use server';

import { revalidatePath } from 'next/cache';
import { actionFailure, SESSION_ENDED } from '@/lib/api/action-result';
import { sessionActor } from '@/lib/auth/session';
import { isRole } from '@/lib/auth/roles';
import { changeUser, createUser } from '@/lib/auth/users';
import type { FormState } from '@/lib/ui/form-state';


export async function createUserAction(_prev: FormState, formData: FormData): Promise<FormState> {
  const actor = await sessionActor('action.create_user');
  if (!actor) return SESSION_ENDED;
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
    return actionFailure(error, { fieldsOnly: true });
  }
}

export async function updateUserAction(_prev: FormState, formData: FormData): Promise<FormState> {
  const actor = await sessionActor('action.update_user');
  if (!actor) return SESSION_ENDED;
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
    return actionFailure(error, { fieldsOnly: true });
  }
}
