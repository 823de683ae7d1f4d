import type { Metadata } from 'next';
import { notFound } from 'next/navigation';
import { recordAudit } from '@/lib/audit';
import { actorFor, requireUser } from '@/lib/auth/session';
import { listAllUsers } from '@/lib/auth/users';
import { CreateUserForm, UserRow } from '@/lib/ui/user-admin';

export const metadata: Metadata = { title: 'Users' };

export default async function UsersPage() {
  const user = await requireUser('/admin/users');
  const actor = await actorFor(user);
  if (user.role !== 'admin') {
    await recordAudit(actor, { action: 'page.admin_users', outcome: 'denied', details: { reason: 'role' } });
    notFound();
  }
  const users = await listAllUsers(actor);
  return (
    <>
      <h1>Users</h1>
      <div className="card">
        <table>
          <thead>
            <tr>
              <th>Name</th>
              <th>Email</th>
              <th>Role</th>
              <th>Status</th>
              <th>Last sign-in</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {users.map((u) => (
              <UserRow
                key={u.id}
                user={{
                  id: u.id,
                  name: u.name,
                  email: u.email,
                  role: u.role,
                  disabled: u.disabled,
                  lastSignInAt: u.lastSignInAt?.toISOString() ?? null,
                }}
                isSelf={u.id === user.id}
              />
            ))}
          </tbody>
        </table>
      </div>
      <h2>Add a user</h2>
      <div className="card">
        <CreateUserForm />
      </div>
    </>
  );
}
