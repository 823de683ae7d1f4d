'use server';

import { revalidatePath } from 'next/cache';
import { actionFailure, SESSION_ENDED } from '@/lib/api/action-result';
import { sessionActor } from '@/lib/auth/session';
import { createApiToken, revokeApiToken } from '@/lib/auth/token-admin';
import type { FormState } from '@/lib/ui/form-state';

export interface CreateTokenState extends FormState {
  /** The new token's secret: in this one answer only. */
  secret?: string;
  prefix?: string;
}


/** The form's date (YYYY-MM-DD) means "usable through that day" in UTC. */
function expiryOf(value: FormDataEntryValue | null): string | null {
  const text = typeof value === 'string' ? value.trim() : '';
  return /^\d{4}-\d{2}-\d{2}$/.test(text) ? `${text}T23:59:59Z` : text || null;
}

export async function createTokenAction(_prev: CreateTokenState, formData: FormData): Promise<CreateTokenState> {
  const actor = await sessionActor('action.create_token');
  if (!actor) return SESSION_ENDED;
  try {
    const { token, secret } = await createApiToken(
      {
        name: String(formData.get('name') ?? ''),
        role: String(formData.get('role') ?? ''),
        scopes: formData.getAll('scopes').map(String),
        expiresAt: expiryOf(formData.get('expiresAt')),
      },
      actor,
    );
    revalidatePath('/admin/tokens');
    return { ok: `Created token "${token.name}"`, secret, prefix: token.prefix };
  } catch (error) {
    return actionFailure(error, { fieldsOnly: true });
  }
}

export async function revokeTokenAction(_prev: FormState, formData: FormData): Promise<FormState> {
  const actor = await sessionActor('action.revoke_token');
  if (!actor) return SESSION_ENDED;
  try {
    const token = await revokeApiToken(String(formData.get('tokenId') ?? ''), actor);
    revalidatePath('/admin/tokens');
    return { ok: `Revoked ${token.name}` };
  } catch (error) {
    return actionFailure(error, { fieldsOnly: true });
  }
}
