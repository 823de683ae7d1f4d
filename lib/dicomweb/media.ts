/** Content negotiation (Accept) and multipart/related bodies for DICOMweb (PS3.18 8.7). */
import { randomBytes } from 'node:crypto';
import { ApiError } from '@/lib/api/errors';

export interface MediaRange {
  type: string;
  params: Record<string, string>;
  q: number;
}

/** Splits on commas and semicolons outside double quotes. */
function splitOutsideQuotes(text: string, separator: string): string[] {
  const out: string[] = [];
  let current = '';
  let quoted = false;
  for (const ch of text) {
    if (ch === '"') quoted = !quoted;
    if (ch === separator && !quoted) {
      out.push(current);
      current = '';
    } else current += ch;
  }
  out.push(current);
  return out.map((s) => s.trim()).filter(Boolean);
}

export function parseMediaType(value: string): MediaRange {
  const [type = '', ...rest] = splitOutsideQuotes(value, ';');
  const params: Record<string, string> = {};
  for (const p of rest) {
    const eq = p.indexOf('=');
    if (eq < 0) continue;
    params[p.slice(0, eq).trim().toLowerCase()] = p.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1');
  }
  const q = params.q === undefined ? 1 : Number(params.q);
  return { type: type.toLowerCase(), params, q: Number.isFinite(q) ? q : 1 };
}

/** The Accept header's media ranges, most preferred first; none means anything. */
export function parseAccept(header: string | null): MediaRange[] {
  if (!header?.trim()) return [{ type: '*/*', params: {}, q: 1 }];
  return splitOutsideQuotes(header, ',')
    .map(parseMediaType)
    .filter((r) => r.q > 0)
    .sort((a, b) => b.q - a.q);
}

export function notAcceptable(message: string): ApiError {
  return new ApiError(406, 'not_acceptable', message);
}

/** Whether one of the ranges accepts `type` (e.g. application/dicom+json), wildcards included. */
export function accepts(ranges: MediaRange[], ...types: string[]): boolean {
  return ranges.some((r) => r.type === '*/*' || types.some((t) => r.type === t || (r.type.endsWith('/*') && t.startsWith(r.type.slice(0, -1)))));
}

/**
 * What a multipart/related range asks for: the part media type (`type` parameter) and the
 * transfer syntax (absent: the default for that type). Non-multipart ranges give the bare type.
 */
export function partRequest(range: MediaRange): { partType: string; transferSyntax: string | null } | null {
  if (range.type === 'multipart/related' || range.type === 'multipart/*') {
    return { partType: (range.params.type ?? '*/*').toLowerCase(), transferSyntax: range.params['transfer-syntax'] ?? null };
  }
  if (range.type === '*/*') return { partType: '*/*', transferSyntax: range.params['transfer-syntax'] ?? null };
  return { partType: range.type, transferSyntax: range.params['transfer-syntax'] ?? null };
}

export interface Part {
  contentType: string;
  body: Uint8Array;
  location?: string;
}

export function newBoundary(): string {
  return `dicomweb-${randomBytes(12).toString('hex')}`;
}

const encoder = new TextEncoder();

/**
 * A multipart/related body produced part by part, so that a study is never held in memory whole;
 * `parts` runs lazily as the client reads.
 */
export function multipartResponse(type: string, parts: AsyncIterable<Part>, headers: Record<string, string> = {}): Response {
  const boundary = newBoundary();
  const iterator = parts[Symbol.asyncIterator]();
  let first = true;
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const next = await iterator.next();
        if (next.done) {
          controller.enqueue(encoder.encode(`${first ? '' : '\r\n'}--${boundary}--\r\n`));
          controller.close();
          return;
        }
        const part = next.value;
        const head = `${first ? '' : '\r\n'}--${boundary}\r\nContent-Type: ${part.contentType}\r\n${part.location ? `Content-Location: ${part.location}\r\n` : ''}Content-Length: ${part.body.byteLength}\r\n\r\n`;
        first = false;
        controller.enqueue(encoder.encode(head));
        controller.enqueue(part.body);
      } catch (error) {
        console.error('[dicomweb] multipart part failed', error);
        controller.error(error);
      }
    },
    async cancel() {
      await iterator.return?.();
    },
  });
  return new Response(stream, {
    headers: { 'Content-Type': `multipart/related; type="${type}"; boundary=${boundary}`, 'Cache-Control': 'private, no-store', ...headers },
  });
}

export function dicomJsonResponse(body: unknown, init: { status?: number; headers?: Record<string, string> } = {}): Response {
  return new Response(JSON.stringify(body), {
    status: init.status ?? 200,
    headers: { 'Content-Type': 'application/dicom+json', 'Cache-Control': 'private, no-store', ...init.headers },
  });
}
