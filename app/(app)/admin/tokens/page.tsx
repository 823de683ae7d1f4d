import type { Metadata } from 'next';
import { notFound } from 'next/navigation';
import { recordAudit } from '@/lib/audit';
import { actorFor, requireUser } from '@/lib/auth/session';
import { listTokens } from '@/lib/auth/token-admin';
import { CreateTokenForm, TokenRow } from '@/lib/ui/token-admin';

export const metadata: Metadata = { title: 'API tokens' };

export default async function TokensPage() {
  const user = await requireUser('/admin/tokens');
  const actor = await actorFor(user);
  if (user.role !== 'admin') {
    await recordAudit(actor, { action: 'page.admin_tokens', outcome: 'denied', details: { reason: 'role' } });
    notFound();
  }
  const tokens = await listTokens(actor);
  return (
    <>
      <h1>API tokens</h1>
      <p className="muted">
        External systems call the REST API and DICOMweb with <code>Authorization: Bearer &lt;token&gt;</code>. A token acts with its
        role and may only call endpoints its scopes allow. The API is described at <a href="/api/openapi.json">/api/openapi.json</a>.
      </p>
      <h2>Create a token</h2>
      <div className="card">
        <CreateTokenForm />
      </div>
      <h2>Tokens</h2>
      <div className="card">
        {tokens.length === 0 ? (
          <p className="empty">No API tokens yet.</p>
        ) : (
          <table>
            <thead>
              <tr>
                <th>Name</th>
                <th>Prefix</th>
                <th>Role</th>
                <th>Scopes</th>
                <th>Status</th>
                <th>Last used</th>
                <th>Created</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {tokens.map((t) => (
                <TokenRow
                  key={t.id}
                  token={{
                    id: t.id,
                    name: t.name,
                    prefix: t.prefix,
                    role: t.role,
                    scopes: t.scopes,
                    status: t.status,
                    createdAt: t.createdAt.toISOString(),
                    createdBy: t.createdBy?.email ?? null,
                    lastUsedAt: t.lastUsedAt?.toISOString() ?? null,
                    expiresAt: t.expiresAt?.toISOString() ?? null,
                  }}
                />
              ))}
            </tbody>
          </table>
        )}
      </div>
    </>
  );
}
