/**
 * The pages' Content Security Policy, with a per-request nonce: proxy.ts sets it on the request
 * (Next.js then stamps the nonce on its own scripts) and on the response. The headers every
 * response carries (nosniff, HSTS, frame options, the API's locked-down policy) are static and
 * live in next.config.mjs.
 */

export interface CspOptions {
  nonce: string;
  /** `next dev` needs eval for React's debugging aids; production never does. */
  dev: boolean;
}

export function contentSecurityPolicy({ nonce, dev }: CspOptions): string {
  const directives: Record<string, string[]> = {
    'default-src': ["'self'"],
    // 'strict-dynamic': scripts the nonce'd Next.js runtime loads are trusted, nothing else.
    'script-src': ["'self'", `'nonce-${nonce}'`, "'strict-dynamic'", ...(dev ? ["'unsafe-eval'"] : [])],
    // React renders style attributes (progress bars, overlays); a nonce cannot cover attributes.
    'style-src': ["'self'", "'unsafe-inline'"],
    // Rendered slices and thumbnails come from the API; DWV and the overlays draw via blob/data URLs.
    'img-src': ["'self'", 'blob:', 'data:'],
    'font-src': ["'self'"],
    'connect-src': ["'self'", ...(dev ? ['ws:'] : [])],
    // DWV starts its decoders from /…/assets/workers/*.js.
    'worker-src': ["'self'", 'blob:'],
    'object-src': ["'none'"],
    'base-uri': ["'self'"],
    'form-action': ["'self'"],
    'frame-ancestors': ["'none'"],
  };
  return Object.entries(directives)
    .map(([name, values]) => `${name} ${values.join(' ')}`)
    .join('; ');
}

/** A fresh, unguessable nonce per page request. */
export function generateNonce(): string {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return btoa(String.fromCharCode(...bytes));
}
