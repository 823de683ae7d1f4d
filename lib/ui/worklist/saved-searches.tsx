'use client';

import Link from 'next/link';
import { useActionState } from 'react';
import { deleteSavedSearchAction, saveSearchAction } from '@/app/(app)/actions';
import { ActionMessage } from '@/lib/ui/action-message';
import type { FormState } from '@/lib/ui/form-state';

export interface SavedSearchItem {
  id: string;
  name: string;
  href: string;
}

function DeleteSavedSearch({ item }: { item: SavedSearchItem }) {
  const [state, action, pending] = useActionState<FormState, FormData>(deleteSavedSearchAction, {});
  return (
    <form action={action} className="inline">
      <input type="hidden" name="id" value={item.id} />
      <button type="submit" className="secondary small" disabled={pending} aria-label={`Delete saved search ${item.name}`}>
        Delete
      </button>
      <ActionMessage state={{ error: state.error }} />
    </form>
  );
}

/** The user's saved searches (each a worklist link) and a form that saves the current one. */
export function SavedSearches({ items, currentQuery, activeHref }: { items: SavedSearchItem[]; currentQuery: string; activeHref: string }) {
  const [state, action, pending] = useActionState<FormState, FormData>(saveSearchAction, {});
  return (
    <section className="saved-searches" aria-label="Saved searches">
      <h2>Saved searches</h2>
      {items.length === 0 ? <p className="muted">None yet: set filters, then save them under a name.</p> : null}
      <ul>
        {items.map((item) => (
          <li key={item.id} data-testid="saved-search">
            <Link href={item.href} aria-current={item.href === activeHref ? 'page' : undefined}>
              {item.name}
            </Link>
            <DeleteSavedSearch item={item} />
          </li>
        ))}
      </ul>
      <form action={action} className="stack" aria-label="Save this search">
        <input type="hidden" name="query" value={currentQuery} />
        <label>
          Save this search as
          <input name="name" required maxLength={100} defaultValue={state.values?.name ?? ''} key={state.ok ?? 'form'} aria-invalid={state.fieldErrors?.name ? true : undefined} />
        </label>
        <button type="submit" className="secondary" disabled={pending}>
          Save search
        </button>
        <ActionMessage state={state} as="p" />
      </form>
    </section>
  );
}
