import { describe, expect, it } from 'vitest';
import { contentSecurityPolicy, generateNonce } from './headers';

function directives(policy: string): Map<string, string[]> {
  return new Map(policy.split('; ').map((d) => { const [name, ...values] = d.split(' '); return [name!, values]; }));
}

describe('contentSecurityPolicy', () => {
  it('allows only nonce-bearing scripts in production, and no eval', () => {
    const csp = directives(contentSecurityPolicy({ nonce: 'abc123', dev: false }));
    expect(csp.get('script-src')).toEqual(["'self'", "'nonce-abc123'", "'strict-dynamic'"]);
    expect(csp.get('frame-ancestors')).toEqual(["'none'"]);
    expect(csp.get('object-src')).toEqual(["'none'"]);
    expect(csp.get('form-action')).toEqual(["'self'"]);
    expect([...csp.values()].flat()).not.toContain("'unsafe-eval'");
  });

  it('adds eval and the HMR socket only for next dev', () => {
    const csp = directives(contentSecurityPolicy({ nonce: 'n', dev: true }));
    expect(csp.get('script-src')).toContain("'unsafe-eval'");
    expect(csp.get('connect-src')).toContain('ws:');
  });
});

describe('generateNonce', () => {
  it('is 128 random bits, different every time', () => {
    const seen = new Set(Array.from({ length: 100 }, generateNonce));
    expect(seen.size).toBe(100);
    for (const n of seen) expect(Buffer.from(n, 'base64')).toHaveLength(16);
  });
});
