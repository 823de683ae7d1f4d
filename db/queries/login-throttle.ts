import { inArray, sql } from 'drizzle-orm';
import type { Executor } from '../index';
import { loginThrottle } from '../schema';

export async function findThrottleRows(db: Executor, keys: string[]) {
  if (keys.length === 0) return [];
  return db.select().from(loginThrottle).where(inArray(loginThrottle.key, keys));
}

/**
 * Counts one failure against `key` inside a sliding window, locking the key once it reaches
 * `maxFailures`. One upsert, so concurrent failures cannot lose counts.
 */
export async function recordThrottleFailure(
  db: Executor,
  key: string,
  options: { now: Date; windowSeconds: number; maxFailures: number; lockSeconds: number },
): Promise<void> {
  const now = options.now.toISOString();
  const windowStart = new Date(options.now.getTime() - options.windowSeconds * 1000).toISOString();
  const lockedUntil = new Date(options.now.getTime() + options.lockSeconds * 1000).toISOString();
  const expired = sql`${loginThrottle.windowStartedAt} < ${windowStart}::timestamptz`;
  const nextFailures = sql`case when ${expired} then 1 else ${loginThrottle.failures} + 1 end`;
  await db
    .insert(loginThrottle)
    .values({
      key,
      failures: 1,
      windowStartedAt: options.now,
      lockedUntil: options.maxFailures <= 1 ? new Date(lockedUntil) : null,
    })
    .onConflictDoUpdate({
      target: loginThrottle.key,
      set: {
        failures: nextFailures,
        windowStartedAt: sql`case when ${expired} then ${now}::timestamptz else ${loginThrottle.windowStartedAt} end`,
        lockedUntil: sql`case when ${nextFailures} >= ${options.maxFailures} then ${lockedUntil}::timestamptz else ${loginThrottle.lockedUntil} end`,
      },
    });
}

export async function clearThrottle(db: Executor, key: string): Promise<void> {
  await db.delete(loginThrottle).where(inArray(loginThrottle.key, [key]));
}
