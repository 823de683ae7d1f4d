/** URLs of DICOMweb resources under the service's base URL (e.g. http://host/dicomweb). */
export function retrieveUrl(base: string, study: string, series?: string | null, instance?: string | null): string {
  let url = `${base}/studies/${study}`;
  if (series) url += `/series/${series}`;
  if (series && instance) url += `/instances/${instance}`;
  return url;
}

/**
 * The service's base URL as the client sees it. Behind a proxy the Host header (and, when the
 * proxy sets it, X-Forwarded-Proto) name it.
 */
export function dicomwebBase(req: Request): string {
  const url = new URL(req.url);
  const host = req.headers.get('x-forwarded-host') ?? req.headers.get('host') ?? url.host;
  const proto = req.headers.get('x-forwarded-proto') ?? url.protocol.replace(':', '');
  return `${proto}://${host}/dicomweb`;
}
