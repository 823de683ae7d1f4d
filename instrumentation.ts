/** Runs once when the server starts: validate configuration, then open and migrate the database. */
export async function register(): Promise<void> {
  if (process.env.NEXT_RUNTIME !== 'nodejs') return;
  const { startServer } = await import('./lib/startup');
  await startServer();
}

/**
 * Next.js reports every failed render, route handler and server action here. A failure to reach
 * the database marks it down at once, so the proxy answers the next page requests with 503.
 */
export async function onRequestError(error: unknown): Promise<void> {
  if (process.env.NEXT_RUNTIME !== 'nodejs') return;
  const { isDatabaseUnavailable } = await import('./lib/api/errors');
  if (!isDatabaseUnavailable(error)) return;
  const { reportDatabaseFailure } = await import('./db/availability');
  reportDatabaseFailure();
}
