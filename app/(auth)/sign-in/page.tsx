import type { Metadata } from 'next';
import { redirect } from 'next/navigation';
import { getCurrentUser } from '@/lib/auth/session';
import { isSetupRequired } from '@/lib/auth/first-run';
import { SignInForm } from '@/lib/ui/sign-in-form';
import { safeCallbackUrl } from '@/lib/ui/form-state';

export const metadata: Metadata = { title: 'Sign in' };
export const dynamic = 'force-dynamic';

export default async function SignInPage({ searchParams }: { searchParams: Promise<{ callbackUrl?: string }> }) {
  if (await isSetupRequired()) redirect('/setup');
  const callbackUrl = safeCallbackUrl((await searchParams).callbackUrl);
  if (await getCurrentUser()) redirect(callbackUrl);
  return (
    <main className="auth-shell">
      <div className="card">
        <h1>Sign in</h1>
        <SignInForm callbackUrl={callbackUrl} />
      </div>
    </main>
  );
}
