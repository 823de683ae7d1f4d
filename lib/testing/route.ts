export type RouteHandler = (req: Request, ctx: { params: Promise<Record<string, string>> }) => Promise<Response>;

/**
 * Calls a route handler as an API client with a bearer token would: JSON bodies are sent as
 * application/json unless `rawBody` gives the exact text.
 */
export async function callRoute(
  handler: RouteHandler,
  options: { url: string; token: string; method?: string; params?: Record<string, string>; body?: unknown; rawBody?: string; contentType?: string },
  // Tests read response bodies loosely and assert their shape with expect().
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
): Promise<{ status: number; body: any; headers: Headers }> {
  const hasBody = options.body !== undefined || options.rawBody !== undefined;
  const headers: Record<string, string> = { authorization: `Bearer ${options.token}` };
  if (hasBody) headers['content-type'] = options.contentType ?? 'application/json';
  const res = await handler(
    new Request(`http://app.test${options.url}`, {
      method: options.method ?? 'GET',
      headers,
      body: options.rawBody ?? (options.body === undefined ? undefined : JSON.stringify(options.body)),
    }),
    { params: Promise.resolve(options.params ?? {}) },
  );
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null, headers: res.headers };
}
