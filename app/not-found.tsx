import Link from 'next/link';

export default function NotFound() {
  return (
    <main className="auth-shell">
      <div className="card">
        <h1>Not found</h1>
        <p className="muted">This page does not exist or you do not have access to it.</p>
        <Link href="/">Back to the worklist</Link>
      </div>
    </main>
  );
}
