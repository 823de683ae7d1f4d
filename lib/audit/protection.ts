import type { AuditPrivileges } from '@/db/queries/audit';

/**
 * Says how far the database itself keeps the connected role from rewriting the audit trail, or
 * null when it cannot: the trigger (drizzle/0001) stops UPDATE/DELETE/TRUNCATE for everyone, but
 * a superuser or the table's owner can disable it, and only a role without the privileges is
 * stopped by PostgreSQL's permission checks as well.
 */
export function describeAuditProtection(p: AuditPrivileges): string | null {
  if (p.superuser) {
    return `the app connects as superuser "${p.role}", which can disable the audit_log trigger; run it as a role that owns nothing (README, Audit trail)`;
  }
  if (p.owner) {
    return `the app connects as "${p.role}", the owner of audit_log, which can disable its trigger and re-grant itself UPDATE/DELETE; set DATABASE_MIGRATION_URL to the owner and DATABASE_URL to a separate app role (README, Audit trail)`;
  }
  const held = (['update', 'delete', 'truncate'] as const).filter((k) => p[k]);
  if (held.length) return `the app role "${p.role}" holds ${held.join(', ').toUpperCase()} on audit_log (only the trigger stops it); revoke them`;
  return null;
}
