export interface FormState {
  error?: string;
  fieldErrors?: Record<string, string>;
  ok?: string;
  /** Echoed back so React's post-action form reset does not wipe what the user typed. */
  values?: Record<string, string>;
}

/** Turns a zod error into one message per field, for forms that show errors beside inputs. */
export function fieldErrorsOf(issues: { path: PropertyKey[]; message: string }[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const issue of issues) {
    const key = String(issue.path[0] ?? 'form');
    out[key] ??= issue.message;
  }
  return out;
}

/** Only same-site paths may be redirect targets after sign-in (no open redirects). */
export function safeCallbackUrl(value: unknown): string {
  if (typeof value !== 'string' || !value.startsWith('/') || value.startsWith('//') || value.startsWith('/\\')) return '/';
  if (value.startsWith('/sign-in') || value.startsWith('/setup') || value.startsWith('/api/')) return '/';
  return value;
}
