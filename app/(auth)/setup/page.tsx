import type { Metadata } from 'next';
import { redirect } from 'next/navigation';
import { isSetupRequired } from '@/lib/auth/first-run';
import { SetupForm } from '@/lib/ui/setup-form';

export const metadata: Metadata = { title: 'First-run setup' };
export const dynamic = 'force-dynamic';

export default async function SetupPage() {
  if (!(await isSetupRequired())) redirect('/sign-in');
  return (
    <main className="auth-shell">
      <div className="card">
        <h1>Create the administrator account</h1>
        <p className="muted">
          No accounts exist yet. The account you create now becomes the administrator; it can then add other users.
        </p>
        <SetupForm />
      </div>
    </main>
  );
}
