import { withApi } from '@/lib/api/route';

export const GET = withApi(async ({ principal }) => ({
  kind: principal.kind,
  id: principal.id,
  email: principal.email,
  role: principal.role,
  scopes: principal.scopes,
}), { scope: 'none' });
