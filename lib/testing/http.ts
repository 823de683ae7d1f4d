import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';

export type FetchHandler = (req: Request) => Promise<Response>;

/**
 * Serves route handlers over real HTTP on 127.0.0.1 (random port), so tests can use real clients
 * (tus-js-client, fetch) with real sockets, aborts and partial bodies.
 */
export async function serveHandlers(routes: Record<string, FetchHandler>): Promise<{ url: string; server: Server; close: () => Promise<void> }> {
  const server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    try {
      const url = new URL(req.url ?? '/', `http://${req.headers.host}`);
      const prefix = Object.keys(routes)
        .sort((a, b) => b.length - a.length)
        .find((p) => url.pathname === p || url.pathname.startsWith(`${p}/`));
      if (!prefix) {
        res.writeHead(404).end();
        return;
      }
      const headers = new Headers();
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers.set(k, v);
      headers.set('x-forwarded-for', req.socket.remoteAddress ?? '127.0.0.1');
      const hasBody = !['GET', 'HEAD', 'OPTIONS'].includes(req.method ?? 'GET');
      const request = new Request(url, {
        method: req.method,
        headers,
        body: hasBody ? (Readable.toWeb(req) as ReadableStream) : undefined,
        // @ts-expect-error Node's fetch needs this for streamed request bodies.
        duplex: 'half',
      });
      const response = await routes[prefix]!(request);
      res.writeHead(response.status, Object.fromEntries(response.headers.entries()));
      if (response.body && req.method !== 'HEAD') Readable.fromWeb(response.body as never).pipe(res);
      else res.end();
    } catch (error) {
      console.error('[test-http]', error);
      if (!res.headersSent) res.writeHead(500);
      res.end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
