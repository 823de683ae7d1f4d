import { describe, expect, it } from 'vitest';
import { requestMeta } from './request-meta';

const meta = (headers: Record<string, string>) => requestMeta(new Headers(headers));

describe('requestMeta', () => {
  it('takes the first X-Forwarded-For hop', () => {
    expect(meta({ 'x-forwarded-for': '203.0.113.7, 10.0.0.1' }).clientAddress).toBe('203.0.113.7');
  });

  it('strips ports and brackets', () => {
    expect(meta({ 'x-forwarded-for': '203.0.113.7:5555' }).clientAddress).toBe('203.0.113.7');
    expect(meta({ 'x-forwarded-for': '[2001:db8::1]:443' }).clientAddress).toBe('2001:db8::1');
    expect(meta({ 'x-forwarded-for': '::1' }).clientAddress).toBe('::1');
  });

  it('ignores values that are not addresses, so they never reach an inet column', () => {
    expect(meta({ 'x-forwarded-for': "'; drop table users; --" }).clientAddress).toBeNull();
    expect(meta({ 'x-real-ip': '198.51.100.2' }).clientAddress).toBe('198.51.100.2');
    expect(meta({}).clientAddress).toBeNull();
  });

  it('caps the user agent', () => {
    expect(meta({ 'user-agent': 'x'.repeat(2000) }).userAgent).toHaveLength(512);
  });
});
