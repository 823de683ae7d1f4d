import Link from 'next/link';

/** An audit row's details as one short line (the full JSON is in the export). */
export function describeAuditDetails(details: Record<string, unknown>): string {
  const text = JSON.stringify(details);
  return text === '{}' ? '' : text.length > 160 ? `${text.slice(0, 157)}…` : text;
}

/** Who: the person's email or the API token, with the role. */
export function AuditActorCell({ entry }: { entry: { userEmail: string | null; tokenId: string | null; role: string | null } }) {
  return (
    <td>
      {entry.userEmail ?? (entry.tokenId ? `API token ${entry.tokenId.slice(0, 8)}` : '—')}
      {entry.role ? <span className="muted"> · {entry.role}</span> : null}
    </td>
  );
}

/** Count and newer/older links of a paged audit trail; `hrefOf` builds the link to a page. */
export function AuditPagination({ total, page, pageSize, hrefOf }: { total: number; page: number; pageSize: number; hrefOf: (page: number) => string }) {
  const pages = Math.max(1, Math.ceil(total / pageSize));
  return (
    <nav className="pagination" aria-label="Audit pages">
      <span className="muted" data-testid="audit-count">
        {total} {total === 1 ? 'entry' : 'entries'}
      </span>
      {page > 1 ? <Link href={hrefOf(page - 1)}>← Newer</Link> : null}
      <span className="muted">
        Page {Math.min(page, pages)} of {pages}
      </span>
      {page < pages ? <Link href={hrefOf(page + 1)}>Older →</Link> : null}
    </nav>
  );
}

/** A filter of an audit search form: "any" or one of `options`. */
export function AuditFilterSelect({ label, name, value, options }: { label: string; name: string; value: string | undefined; options: readonly string[] }) {
  return (
    <label>
      {label}
      <select name={name} defaultValue={value ?? ''}>
        <option value="">any</option>
        {options.map((o) => (
          <option key={o} value={o}>
            {o}
          </option>
        ))}
      </select>
    </label>
  );
}
