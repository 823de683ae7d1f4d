'use client';

import { useActionState } from 'react';
import { createUserAction, updateUserAction } from '@/app/(app)/admin/users/actions';
import { ROLE_LABELS, USER_ROLES, type UserRole } from '@/lib/auth/roles';
import { Field } from './field';
import type { FormState } from './form-state';

export function CreateUserForm() {
  const [state, action, pending] = useActionState<FormState, FormData>(createUserAction, {});
  const errors = state.fieldErrors ?? {};
  return (
    <form action={action} className="stack" aria-label="Add a user">
      <div className="row">
        <Field label="Name" name="name" required error={errors.name} />
        <Field label="Email" name="email" type="email" required error={errors.email} />
        <Field label="Initial password" name="password" type="password" autoComplete="new-password" required error={errors.password} />
        <label>
          Role
          <select name="role" defaultValue="clinician">
            {USER_ROLES.map((r) => (
              <option key={r} value={r}>
                {ROLE_LABELS[r]}
              </option>
            ))}
          </select>
        </label>
        <button type="submit" disabled={pending}>
          Add user
        </button>
      </div>
      {state.error ? <p role="alert" className="error">{state.error}</p> : null}
      {state.ok ? <p role="status" className="ok">{state.ok}</p> : null}
    </form>
  );
}

export interface UserRowData {
  id: string;
  name: string;
  email: string;
  role: UserRole;
  disabled: boolean;
  lastSignInAt: string | null;
}

export function UserRow({ user, isSelf }: { user: UserRowData; isSelf: boolean }) {
  const [state, action, pending] = useActionState<FormState, FormData>(updateUserAction, {});
  return (
    <tr data-testid={`user-${user.email}`}>
      <td>{user.name}</td>
      <td>{user.email}</td>
      <td>
        <form action={action} className="row">
          <input type="hidden" name="userId" value={user.id} />
          <select name="role" defaultValue={user.role} aria-label={`Role of ${user.email}`} disabled={isSelf}>
            {USER_ROLES.map((r) => (
              <option key={r} value={r}>
                {ROLE_LABELS[r]}
              </option>
            ))}
          </select>
          {isSelf ? null : (
            <button type="submit" className="secondary" disabled={pending}>
              Save role
            </button>
          )}
        </form>
      </td>
      <td>{user.disabled ? <span className="badge">disabled</span> : <span className="badge">active</span>}</td>
      <td className="muted">{user.lastSignInAt ? new Date(user.lastSignInAt).toLocaleString() : 'never'}</td>
      <td>
        {isSelf ? null : (
          <form action={action}>
            <input type="hidden" name="userId" value={user.id} />
            <input type="hidden" name="disabled" value={user.disabled ? 'false' : 'true'} />
            <button type="submit" className="secondary" disabled={pending}>
              {user.disabled ? 'Enable' : 'Disable'}
            </button>
          </form>
        )}
        {state.error ? <span role="alert" className="error"> {state.error}</span> : null}
      </td>
    </tr>
  );
}
