/**
 * Whether a request was sent by another site. Only cookie-authenticated requests are at risk (a
 * foreign page cannot set `Authorization`); the Origin header, which browsers send on every
 * cross-site POST, names the sender. Without one, Fetch Metadata (`Sec-Fetch-Site`) decides.
 */
export function isCrossSiteRequest(req: Request): boolean {
  const origin = req.headers.get('origin');
  if (origin) {
    if (origin === 'null') return true;
    const host = req.headers.get('x-forwarded-host')?.split(',')[0]?.trim() || req.headers.get('host') || new URL(req.url).host;
    try {
      return new URL(origin).host.toLowerCase() !== host.toLowerCase();
    } catch {
      return true;
    }
  }
  return req.headers.get('sec-fetch-site') === 'cross-site';
}
