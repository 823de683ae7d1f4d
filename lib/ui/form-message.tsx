import type { FormState } from './form-state';

/** The outcome of a form's last submission: its error, else its confirmation, else nothing. */
export function FormMessage({ state, errorTestId }: { state: FormState; errorTestId?: string }) {
  if (state.error) {
    return (
      <span className="error" role="alert" data-testid={errorTestId}>
        {state.error}
      </span>
    );
  }
  if (state.ok) {
    return (
      <span className="ok" role="status">
        {state.ok}
      </span>
    );
  }
  return null;
}
