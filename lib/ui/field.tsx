import type { InputHTMLAttributes } from 'react';

export function Field({
  label,
  error,
  ...input
}: { label: string; error?: string } & InputHTMLAttributes<HTMLInputElement>) {
  return (
    <label>
      {label}
      <input {...input} aria-invalid={error ? true : undefined} />
      {error ? <span className="field-error">{error}</span> : null}
    </label>
  );
}
