'use client';

import { useActionState } from 'react';
import { createFirstAdminAction } from '@/app/(auth)/setup/actions';
import { Field } from './field';
import type { FormState } from './form-state';

export function SetupForm() {
  const [state, action, pending] = useActionState<FormState, FormData>(createFirstAdminAction, {});
  const errors = state.fieldErrors ?? {};
  return (
    <form action={action} className="stack">
      <Field label="Name" name="name" autoComplete="name" required error={errors.name} />
      <Field label="Email" name="email" type="email" autoComplete="username" required error={errors.email} />
      <Field label="Password (at least 12 characters)" name="password" type="password" autoComplete="new-password" required error={errors.password} />
      <Field label="Confirm password" name="confirm" type="password" autoComplete="new-password" required error={errors.confirm} />
      {state.error ? <p role="alert" className="error">{state.error}</p> : null}
      <button type="submit" disabled={pending}>
        {pending ? 'Creating…' : 'Create administrator'}
      </button>
    </form>
  );
}
