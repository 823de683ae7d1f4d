/**
 * Whether the database can be reached, as seen by this process. Route handlers answer an outage
 * with 503 themselves; pages cannot (Next.js answers a failed render with 500), so the proxy asks
 * here first and answers 503 with Retry-After while the database is away.
 *
 * The state lives on globalThis: Next.js bundles the proxy, instrumentation and route code
 * separately, and each bundle has its own copy of this module.
 */

/** While down, check again at most this often. */
const RECHECK_MS = 1_000;
const PROBE_TIMEOUT_MS = 2_000;

interface Availability {
  /** What the latest report said (the last word wins). */
  down: boolean;
  checkedAt: number;
  probe?: () => Promise<void>;
  checking?: Promise<boolean>;
}

const KEY = Symbol.for('imaging.databaseAvailability');

function state(): Availability {
  const holder = globalThis as typeof globalThis & { [KEY]?: Availability };
  return (holder[KEY] ??= { down: false, checkedAt: 0 });
}

/** Something could not reach the database (a connection refused, reset or timed out). */
export function reportDatabaseFailure(): void {
  state().down = true;
}

export function reportDatabaseSuccess(): void {
  state().down = false;
}

/** How to check: a round trip on the process's own pool, set once the database is open. */
export function setDatabaseProbe(probe: (() => Promise<void>) | undefined): void {
  state().probe = probe;
}

/**
 * True while the database cannot be reached. One round trip decides (a `select 1`, shared by the
 * requests arriving meanwhile, with a time limit): a page makes several queries anyway, and a
 * check skipped because the database answered a second ago would let the first requests of an
 * outage fail with 500. While it is down, it is checked again at most once a second.
 */
export async function isDatabaseDown(now = Date.now()): Promise<boolean> {
  const s = state();
  const knownDown = s.down;
  // Not open yet: down only if opening it failed (the server is waiting for PostgreSQL).
  if (!s.probe) return knownDown;
  if (s.checking) return s.checking;
  if (knownDown && now - s.checkedAt < RECHECK_MS) return true;
  s.checkedAt = now;
  const probe = s.probe;
  s.checking = (async () => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      await Promise.race([
        probe(),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error('database check timed out')), PROBE_TIMEOUT_MS);
        }),
      ]);
      reportDatabaseSuccess();
      return false;
    } catch {
      reportDatabaseFailure();
      return true;
    } finally {
      clearTimeout(timer);
      s.checking = undefined;
    }
  })();
  return s.checking;
}

/** For tests: forget everything this process saw. */
export function resetDatabaseAvailability(): void {
  const s = state();
  s.down = false;
  s.checkedAt = 0;
  s.probe = undefined;
  s.checking = undefined;
}
