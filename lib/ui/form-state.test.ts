import { describe, expect, it } from 'vitest';
import { safeCallbackUrl } from './form-state';

describe('safeCallbackUrl', () => {
  it('keeps same-site paths', () => {
    expect(safeCallbackUrl('/admin/users?x=1')).toBe('/admin/users?x=1');
  });

  it('refuses other sites and odd values', () => {
    for (const value of ['https://evil.example/', '//evil.example', '/\\evil.example', 'javascript:alert(1)', null, 42]) {
      expect(safeCallbackUrl(value)).toBe('/');
    }
  });

  it('does not send a freshly signed-in user back to the sign-in page', () => {
    expect(safeCallbackUrl('/sign-in')).toBe('/');
    expect(safeCallbackUrl('/setup')).toBe('/');
  });
});
