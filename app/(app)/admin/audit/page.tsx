import type { Metadata } from 'next';
import { notFound } from 'next/navigation';
import { recordAudit } from '@/lib/audit';
import { actorFor, requireUser } from '@/lib/auth/session';
import { AuditTrailView } from '@/lib/ui/audit-trail';

export const metadata: Metadata = { title: 'Audit trail' };

type PageSearchParams = Promise<Record<string, string | string[] | undefined>>;

export default async function AuditPage({ searchParams }: { searchParams: PageSearchParams }) {
  const user = await requireUser('/admin/audit');
  const actor = await actorFor(user);
  if (user.role !== 'admin') {
    await recordAudit(actor, { action: 'page.admin_audit', outcome: 'denied', details: { reason: 'role' } });
    notFound();
  }
  const raw = Object.fromEntries(Object.entries(await searchParams).map(([k, v]) => [k, Array.isArray(v) ? v[0] : v]));
  return (
    <>
      <h1>Audit trail</h1>
      <p className="muted">
        Every read or change of patient data, every refused access and every sign-in and sign-out, newest first. Searching and exporting
        are recorded here too.
      </p>
      <AuditTrailView actor={actor} params={raw} />
    </>
  );
}
