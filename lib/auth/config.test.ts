import { decode, encode } from 'next-auth/jwt';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { resetEnvForTests } from '@/lib/env';
import { baseAuthConfig } from './config';

const salt = 'authjs.session-token';

describe('session configuration', () => {
  afterEach(() => {
    vi.useRealTimers();
    delete process.env.SESSION_MAX_AGE_SECONDS;
    resetEnvForTests();
  });

  it('issues JWT sessions that stop working after SESSION_MAX_AGE_SECONDS', async () => {
    process.env.SESSION_MAX_AGE_SECONDS = '600';
    resetEnvForTests();
    const config = baseAuthConfig();
    expect(config.session).toMatchObject({ strategy: 'jwt', maxAge: 600 });
    const secret = config.secret as string;

    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2026-01-01T08:00:00Z'));
    const token = await encode({ salt, secret, maxAge: config.jwt!.maxAge, token: { sub: 'user-1', role: 'radiologist', sv: 1 } });
    expect(await decode({ salt, secret, token })).toMatchObject({ sub: 'user-1', role: 'radiologist' });

    vi.setSystemTime(new Date('2026-01-01T08:09:00Z'));
    expect(await decode({ salt, secret, token })).toMatchObject({ sub: 'user-1' });

    vi.setSystemTime(new Date('2026-01-01T08:11:00Z'));
    await expect(decode({ salt, secret, token })).rejects.toThrow(/exp/);
  });

  it('rejects a session signed with another secret', async () => {
    const config = baseAuthConfig();
    const token = await encode({ salt, secret: 'some-other-secret-some-other-secret-123', token: { sub: 'x' } });
    await expect(decode({ salt, secret: config.secret as string, token })).rejects.toThrow();
  });

  it('carries the user id, role and session version from sign-in into the session', async () => {
    const config = baseAuthConfig();
    const jwt = config.callbacks!.jwt!;
    const token = await jwt({
      token: {},
      user: { id: 'u1', role: 'clinician', sessionVersion: 3 } as never,
      account: null,
      trigger: 'signIn',
    } as never);
    expect(token).toMatchObject({ sub: 'u1', role: 'clinician', sv: 3 });
    const session = await config.callbacks!.session!({ session: { user: {}, expires: '' }, token } as never);
    expect(session.user).toMatchObject({ id: 'u1', role: 'clinician', sv: 3 });
  });
});
