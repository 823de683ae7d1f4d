import Link from 'next/link';
import type { ReactNode } from 'react';
import { requireUser } from '@/lib/auth/session';
import { ROLE_LABELS } from '@/lib/auth/roles';
import { signOutAction } from './actions';

export default async function AppLayout({ children }: { children: ReactNode }) {
  const user = await requireUser();
  return (
    <>
      <header className="topbar">
        <Link href="/" className="brand">
          Imaging platform
        </Link>
        <nav>
          <Link href="/">Worklist</Link>
          {user.role !== 'viewer' ? <Link href="/upload">Upload</Link> : null}
          {user.role === 'admin' ? <Link href="/admin/users">Users</Link> : null}
          {user.role === 'admin' ? <Link href="/admin/tokens">API tokens</Link> : null}
          {user.role === 'admin' ? <Link href="/admin/audit">Audit trail</Link> : null}
        </nav>
        <span className="who" data-testid="current-user">
          {user.name} · {user.email} · {ROLE_LABELS[user.role]}
        </span>
        <form action={signOutAction}>
          <button type="submit" className="secondary">
            Sign out
          </button>
        </form>
      </header>
      <main className="page">{children}</main>
    </>
  );
}
