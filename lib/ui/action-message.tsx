/** The outcome of a server action beside the control that ran it: an alert or a status line. */
export function ActionMessage({ state, as: Tag = 'span' }: { state: { error?: string | null; ok?: string | null }; as?: 'span' | 'p' }) {
  if (state.error) {
    return (
      <Tag role="alert" className="error">
        {state.error}
      </Tag>
    );
  }
  if (state.ok) {
    return (
      <Tag role="status" className="ok">
        {state.ok}
      </Tag>
    );
  }
  return null;
}
