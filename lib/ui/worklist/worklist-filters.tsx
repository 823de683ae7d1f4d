'use client';

import Link from 'next/link';
import { useRouter } from 'next/navigation';
import type { FormEvent } from 'react';
import type { Person } from './workflow-controls';

export interface FilterValues {
  q?: string;
  status?: string[];
  priority?: string[];
  assignee?: string;
  modality?: string;
  /** YYYY-MM-DD, as date inputs use. */
  dateFrom?: string;
  dateTo?: string;
  sort: string;
  order: string;
  pageSize: number;
}

export interface FilterChoices {
  statuses: readonly string[];
  priorities: readonly string[];
  sortKeys: { value: string; label: string }[];
  modalities: readonly string[];
  assignees: Person[];
  defaults: { sort: string; order: string; pageSize: number };
}

/**
 * The worklist's filters. Submitting navigates to a URL holding them (shareable, bookmarkable);
 * empty fields and defaults are left out of it. Without JavaScript it is a plain GET form.
 */
export function WorklistFilters({ values, choices }: { values: FilterValues; choices: FilterChoices }) {
  const router = useRouter();
  const onSubmit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const params = new URLSearchParams();
    for (const [key, raw] of new FormData(event.currentTarget)) {
      const value = typeof raw === 'string' ? raw.trim() : '';
      if (!value) continue;
      if (key in choices.defaults && String(choices.defaults[key as keyof FilterChoices['defaults']]) === value) continue;
      params.append(key, value);
    }
    const qs = params.toString();
    router.push(qs ? `/?${qs}` : '/');
  };
  return (
    <form method="get" action="/" onSubmit={onSubmit} className="filters" aria-label="Worklist filters">
      <div className="row">
        <label className="grow">
          Search
          <input name="q" type="search" defaultValue={values.q ?? ''} placeholder="Patient name or ID, accession, description" maxLength={128} />
        </label>
        <label>
          Assignee
          <select name="assignee" defaultValue={values.assignee ?? ''}>
            <option value="">anyone</option>
            <option value="me">me</option>
            <option value="unassigned">unassigned</option>
            {choices.assignees.map((a) => (
              <option key={a.id} value={a.id}>
                {a.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          Modality
          <input name="modality" defaultValue={values.modality ?? ''} list="modality-codes" size={6} maxLength={16} />
          <datalist id="modality-codes">
            {choices.modalities.map((m) => (
              <option key={m} value={m} />
            ))}
          </datalist>
        </label>
        <label>
          Study date from
          <input name="dateFrom" type="date" defaultValue={values.dateFrom ?? ''} />
        </label>
        <label>
          to
          <input name="dateTo" type="date" defaultValue={values.dateTo ?? ''} />
        </label>
      </div>
      <div className="row">
        <fieldset>
          <legend>Status</legend>
          {choices.statuses.map((s) => (
            <label key={s} className="check">
              <input type="checkbox" name="status" value={s} defaultChecked={values.status?.includes(s)} />
              <span className={`badge status-${s}`}>{s}</span>
            </label>
          ))}
        </fieldset>
        <fieldset>
          <legend>Priority</legend>
          {choices.priorities.map((p) => (
            <label key={p} className="check">
              <input type="checkbox" name="priority" value={p} defaultChecked={values.priority?.includes(p)} />
              <span className={`badge priority-${p}`}>{p}</span>
            </label>
          ))}
        </fieldset>
        <label>
          Sort by
          <select name="sort" defaultValue={values.sort}>
            {choices.sortKeys.map((k) => (
              <option key={k.value} value={k.value}>
                {k.label}
              </option>
            ))}
          </select>
        </label>
        <label>
          Order
          <select name="order" defaultValue={values.order}>
            <option value="desc">descending</option>
            <option value="asc">ascending</option>
          </select>
        </label>
        <label>
          Per page
          <select name="pageSize" defaultValue={String(values.pageSize)}>
            {[...new Set([25, 50, 100, 200, values.pageSize])].sort((a, b) => a - b).map((n) => (
              <option key={n} value={n}>
                {n}
              </option>
            ))}
          </select>
        </label>
        <button type="submit">Apply filters</button>
        <Link href="/" className="button-like secondary">
          Clear
        </Link>
      </div>
    </form>
  );
}
