import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { actionFailure } from './action-result';
import { ApiError, databaseUnavailable } from './errors';

const invalid = () => {
  const result = z.object({ name: z.string().min(1, 'Name is required'), age: z.number() }).safeParse({ name: '', age: 'x' });
  if (result.success) throw new Error('expected invalid input');
  return result.error;
};

describe('actionFailure: what a failed server action shows', () => {
  it('invalid input: a message per field, and the first as the summary unless the form shows fields only', () => {
    expect(actionFailure(invalid())).toEqual({ error: 'name: Name is required', fieldErrors: { name: 'Name is required', age: expect.any(String) } });
    expect(actionFailure(invalid(), { fieldsOnly: true })).toEqual({ fieldErrors: { name: 'Name is required', age: expect.any(String) } });
  });

  it('refusals, conflicts and missing things: their message', () => {
    expect(actionFailure(new ApiError(409, 'conflict', 'This report is signed'))).toEqual({ error: 'This report is signed' });
  });

  it('an unreachable database or a full disk: try again later, not a crash', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    expect(actionFailure(new Error('query failed', { cause: refused }))).toEqual({ error: databaseUnavailable().message });
    expect(actionFailure(Object.assign(new Error('no space'), { code: 'ENOSPC' })).error).toMatch(/no room left/);
  });

  it('anything else is a bug and is thrown', () => {
    const bug = new TypeError('x is undefined');
    expect(() => actionFailure(bug)).toThrow(bug);
  });
});
