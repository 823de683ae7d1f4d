'use client';

import { useEffect, useState } from 'react';
import { OUTAGE_DATABASE_TEXT, OUTAGE_RETRY_SECONDS, OUTAGE_TITLE } from './outage';

type Health = 'checking' | 'database' | 'up' | 'unreachable';

const RETRY_SECONDS = OUTAGE_RETRY_SECONDS;

/**
 * What a page shows when rendering it failed. Production hides server error messages, so the
 * cause is asked of /api/health: while the database is away the page says so and retries on its
 * own every few seconds (it recovers when PostgreSQL returns); otherwise it offers a retry.
 */
export function ServiceError({ reset, digest }: { reset: () => void; digest?: string }) {
  const [health, setHealth] = useState<Health>('checking');
  useEffect(() => {
    let stopped = false;
    const check = async () => {
      try {
        const res = await fetch('/api/health', { cache: 'no-store' });
        if (stopped) return;
        if (res.ok) {
          setHealth('up');
        } else {
          const body = (await res.json().catch(() => null)) as { error?: { code?: string } } | null;
          setHealth(body?.error?.code === 'database_unavailable' ? 'database' : 'unreachable');
        }
      } catch {
        if (!stopped) setHealth('unreachable');
      }
    };
    void check();
    return () => {
      stopped = true;
    };
  }, []);
  useEffect(() => {
    if (health !== 'database' && health !== 'unreachable') return;
    const timer = setTimeout(() => window.location.reload(), RETRY_SECONDS * 1000);
    return () => clearTimeout(timer);
  }, [health]);
  const outage = health === 'database' || health === 'unreachable';
  return (
    <main className="auth-shell" data-testid="service-error">
      <div className="card" role="alert">
        <h1>{outage ? OUTAGE_TITLE : 'Something went wrong'}</h1>
        {health === 'database' ? (
          <p>{OUTAGE_DATABASE_TEXT}</p>
        ) : health === 'unreachable' ? (
          <p>The server cannot be reached right now; this page tries again every {RETRY_SECONDS} seconds.</p>
        ) : health === 'checking' ? (
          <p>This page could not be shown. Checking whether the service is available…</p>
        ) : (
          <p>This page could not be shown. Try again; if it keeps failing, tell your administrator{digest ? ` (reference ${digest})` : ''}.</p>
        )}
        <button type="button" onClick={() => (outage ? window.location.reload() : reset())}>
          Try again
        </button>
      </div>
    </main>
  );
}
