import { describe, expect, it } from 'vitest';
import { isCrossSiteRequest } from './origin';

const post = (headers: Record<string, string>) => new Request('http://app.test/x', { method: 'POST', headers });

describe('isCrossSiteRequest', () => {
  it('compares the Origin with the host the client addressed (or the one a proxy forwarded)', () => {
    expect(isCrossSiteRequest(post({ origin: 'http://app.test', host: 'app.test' }))).toBe(false);
    expect(isCrossSiteRequest(post({ origin: 'http://APP.test', host: 'app.test' }))).toBe(false);
    expect(isCrossSiteRequest(post({ origin: 'https://evil.example', host: 'app.test' }))).toBe(true);
    expect(isCrossSiteRequest(post({ origin: 'http://app.test:8080', host: 'app.test' }))).toBe(true);
    expect(isCrossSiteRequest(post({ origin: 'https://pacs.hospital.org', host: '10.0.0.5:3000', 'x-forwarded-host': 'pacs.hospital.org' }))).toBe(false);
    expect(isCrossSiteRequest(post({ origin: 'https://evil.example', host: 'pacs.hospital.org', 'x-forwarded-host': 'pacs.hospital.org' }))).toBe(true);
  });

  it('treats an opaque or malformed Origin as foreign, and falls back to Fetch Metadata without one', () => {
    expect(isCrossSiteRequest(post({ origin: 'null', host: 'app.test' }))).toBe(true);
    expect(isCrossSiteRequest(post({ origin: 'not a url', host: 'app.test' }))).toBe(true);
    expect(isCrossSiteRequest(post({ 'sec-fetch-site': 'cross-site', host: 'app.test' }))).toBe(true);
    expect(isCrossSiteRequest(post({ 'sec-fetch-site': 'same-origin', host: 'app.test' }))).toBe(false);
    // Scripts and API clients send neither: not a browser's cross-site request.
    expect(isCrossSiteRequest(post({ host: 'app.test' }))).toBe(false);
  });
});
