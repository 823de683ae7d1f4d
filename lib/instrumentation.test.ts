import { afterEach, describe, expect, it } from 'vitest';
import { isDatabaseDown, resetDatabaseAvailability } from '@/db/availability';
import { onRequestError } from '../instrumentation';

// instrumentation.ts sits at the root, where Next.js looks for it; its test lives with lib's.
describe('instrumentation onRequestError', () => {
  const runtime = process.env.NEXT_RUNTIME;
  afterEach(() => {
    resetDatabaseAvailability();
    if (runtime === undefined) delete process.env.NEXT_RUNTIME;
    else process.env.NEXT_RUNTIME = runtime;
  });

  it('a render that failed to reach the database marks it down for the proxy; other errors do not', async () => {
    resetDatabaseAvailability();
    process.env.NEXT_RUNTIME = 'nodejs';
    await onRequestError(new TypeError('a bug'));
    expect(await isDatabaseDown()).toBe(false);
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    await onRequestError(new Error('Failed query: select …', { cause: refused }));
    expect(await isDatabaseDown()).toBe(true);
  });
});
