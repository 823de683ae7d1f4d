import type { Metadata } from 'next';
import { notFound } from 'next/navigation';
import { recordAudit } from '@/lib/audit';
import { actorFor, requireUser } from '@/lib/auth/session';
import { UPLOAD_ROLES } from '@/lib/ingest/uploads';
import { Uploader } from '@/lib/ui/uploader';

export const metadata: Metadata = { title: 'Upload' };

export default async function UploadPage() {
  const user = await requireUser('/upload');
  if (!(UPLOAD_ROLES as readonly string[]).includes(user.role)) {
    await recordAudit(await actorFor(user), { action: 'page.upload', outcome: 'denied', details: { reason: 'role' } });
    notFound();
  }
  return (
    <>
      <h1>Upload images</h1>
      <Uploader />
    </>
  );
}
