import { isIP } from 'node:net';

export interface RequestMeta {
  clientAddress: string | null;
  userAgent: string | null;
}

function normaliseAddress(value: string | undefined | null): string | null {
  if (!value) return null;
  let candidate = value.trim();
  // "[::1]:1234" and "1.2.3.4:1234" carry a port that inet columns reject.
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(candidate);
  if (bracketed?.[1]) candidate = bracketed[1];
  else if (/^\d{1,3}(\.\d{1,3}){3}:\d+$/.test(candidate)) candidate = candidate.slice(0, candidate.lastIndexOf(':'));
  return isIP(candidate) ? candidate : null;
}

/**
 * The client address as the nearest proxy reports it. Next.js fills X-Forwarded-For with the
 * socket address only when the header is absent, so deployments must sit behind a proxy that
 * overwrites it (see README, Deployment).
 */
export function requestMeta(headers: Headers): RequestMeta {
  const forwarded = headers.get('x-forwarded-for')?.split(',')[0];
  return {
    clientAddress: normaliseAddress(forwarded) ?? normaliseAddress(headers.get('x-real-ip')),
    userAgent: headers.get('user-agent')?.slice(0, 512) ?? null,
  };
}
