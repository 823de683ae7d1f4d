import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { isDatabaseDown, reportDatabaseFailure, reportDatabaseSuccess, resetDatabaseAvailability, setDatabaseProbe } from './availability';

describe('database availability as the proxy sees it', () => {
  beforeEach(() => resetDatabaseAvailability());
  afterEach(() => {
    resetDatabaseAvailability();
    vi.useRealTimers();
  });

  it('before the database is open it is down only once opening it failed', async () => {
    expect(await isDatabaseDown()).toBe(false);
    reportDatabaseFailure();
    expect(await isDatabaseDown()).toBe(true);
    reportDatabaseSuccess();
    expect(await isDatabaseDown()).toBe(false);
  });

  it('asks the database on every check, one round trip for the requests arriving together', async () => {
    let calls = 0;
    let release!: () => void;
    setDatabaseProbe(() => {
      calls++;
      return new Promise<void>((resolve) => (release = resolve));
    });
    const checks = [isDatabaseDown(), isDatabaseDown(), isDatabaseDown()];
    expect(calls).toBe(1);
    release();
    expect(await Promise.all(checks)).toEqual([false, false, false]);
    // The database answered a moment ago: still asked, since it may have gone away since.
    const next = isDatabaseDown();
    release();
    expect(await next).toBe(false);
    expect(calls).toBe(2);
  });

  it('an outage is seen at once, checked again at most once a second, and its end is noticed', async () => {
    let up = true;
    let calls = 0;
    setDatabaseProbe(async () => {
      calls++;
      if (!up) throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    });
    const t0 = Date.now();
    expect(await isDatabaseDown(t0)).toBe(false);
    up = false;
    expect(await isDatabaseDown(t0 + 10)).toBe(true);
    expect(calls).toBe(2);
    // Known down: no round trip for the next second.
    expect(await isDatabaseDown(t0 + 500)).toBe(true);
    expect(calls).toBe(2);
    up = true;
    expect(await isDatabaseDown(t0 + 1100)).toBe(false);
    expect(calls).toBe(3);
  });

  it('a failure reported elsewhere (a route handler, the job worker) is believed at once, then checked', async () => {
    const probe = vi.fn(async () => {});
    setDatabaseProbe(probe);
    const t0 = Date.now();
    expect(await isDatabaseDown(t0)).toBe(false);
    reportDatabaseFailure();
    expect(await isDatabaseDown(t0 + 200)).toBe(true);
    expect(probe).toHaveBeenCalledTimes(1);
    expect(await isDatabaseDown(t0 + 1200)).toBe(false);
    expect(probe).toHaveBeenCalledTimes(2);
  });

  it('a database that does not answer within two seconds is down', async () => {
    vi.useFakeTimers();
    setDatabaseProbe(() => new Promise<void>(() => {}));
    const check = isDatabaseDown();
    await vi.advanceTimersByTimeAsync(2_001);
    expect(await check).toBe(true);
  });
});
