'use client';

import { useActionState } from 'react';
import { createTokenAction, revokeTokenAction, type CreateTokenState } from '@/app/(app)/admin/tokens/actions';
import { ROLE_LABELS, USER_ROLES, type UserRole } from '@/lib/auth/roles';
import { API_SCOPES, SCOPE_LABELS } from '@/lib/auth/scopes';
import { Field } from './field';
import type { FormState } from './form-state';

export function CreateTokenForm() {
  const [state, action, pending] = useActionState<CreateTokenState, FormData>(createTokenAction, {});
  const errors = state.fieldErrors ?? {};
  return (
    <div className="stack">
      <form action={action} className="stack" aria-label="Create a token">
        <div className="row">
          <Field label="Name" name="name" required maxLength={100} placeholder="e.g. PACS bridge" error={errors.name} />
          <label>
            Role
            <select name="role" defaultValue="viewer">
              {USER_ROLES.map((r) => (
                <option key={r} value={r}>
                  {ROLE_LABELS[r]}
                </option>
              ))}
            </select>
          </label>
          <Field label="Expires (optional)" name="expiresAt" type="date" error={errors.expiresAt} />
        </div>
        <fieldset className="scopes">
          <legend>Scopes</legend>
          {API_SCOPES.map((s) => (
            <label key={s} className="check">
              <input type="checkbox" name="scopes" value={s} /> <code>{s}</code> <span className="muted">{SCOPE_LABELS[s]}</span>
            </label>
          ))}
          {errors.scopes ? <span className="field-error">{errors.scopes}</span> : null}
        </fieldset>
        <div>
          <button type="submit" disabled={pending}>
            Create token
          </button>
        </div>
        {state.error ? <p role="alert" className="error">{state.error}</p> : null}
      </form>
      {state.secret ? (
        <div className="card secret" role="status" aria-label="New token">
          <p className="ok">{state.ok}. Copy the secret now: it is shown only this once.</p>
          <input readOnly aria-label="Token secret" value={state.secret} onFocus={(e) => e.currentTarget.select()} className="secret-value" />
          <button type="button" className="secondary" onClick={() => void navigator.clipboard?.writeText(state.secret ?? '')}>
            Copy
          </button>
        </div>
      ) : null}
    </div>
  );
}

export interface TokenRowData {
  id: string;
  name: string;
  prefix: string;
  role: UserRole;
  scopes: string[];
  status: 'active' | 'expired' | 'revoked';
  createdAt: string;
  createdBy: string | null;
  lastUsedAt: string | null;
  expiresAt: string | null;
}

export function TokenRow({ token }: { token: TokenRowData }) {
  const [state, action, pending] = useActionState<FormState, FormData>(revokeTokenAction, {});
  return (
    <tr data-testid={`token-${token.name}`}>
      <td>{token.name}</td>
      <td>
        <code>{token.prefix}…</code>
      </td>
      <td>{ROLE_LABELS[token.role]}</td>
      <td>{token.scopes.join(', ')}</td>
      <td>
        <span className="badge">{token.status}</span>
        {token.expiresAt && token.status === 'active' ? <span className="muted"> until {new Date(token.expiresAt).toLocaleDateString()}</span> : null}
      </td>
      <td className="muted">{token.lastUsedAt ? new Date(token.lastUsedAt).toLocaleString() : 'never'}</td>
      <td className="muted">
        {new Date(token.createdAt).toLocaleString()}
        {token.createdBy ? ` by ${token.createdBy}` : ''}
      </td>
      <td>
        {token.status === 'revoked' ? null : (
          <form action={action}>
            <input type="hidden" name="tokenId" value={token.id} />
            <button type="submit" className="secondary" disabled={pending}>
              Revoke
            </button>
          </form>
        )}
        {state.error ? <span role="alert" className="error"> {state.error}</span> : null}
      </td>
    </tr>
  );
}
