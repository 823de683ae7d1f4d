import { z } from 'zod';
import { getDb } from '@/db';
import { isUniqueViolation } from '@/db/errors';
import { findUserById, insertFirstUser, insertUser, listUsers, updateUser } from '@/db/queries/users';
import type { User } from '@/db/schema';
import { ApiError, conflict, forbidden, notFound } from '@/lib/api/errors';
import { recordAudit, type Actor } from '@/lib/audit';
import { hashPassword } from './password';
import { USER_ROLES, type UserRole } from './roles';

export const MIN_PASSWORD_LENGTH = 12;

export const newUserSchema = z.object({
  email: z.string().trim().toLowerCase().email('Enter a valid email address').max(254),
  name: z.string().trim().min(1, 'Enter a name').max(200),
  password: z
    .string()
    .min(MIN_PASSWORD_LENGTH, `Use at least ${MIN_PASSWORD_LENGTH} characters`)
    .max(1024, 'Use at most 1024 characters'),
  role: z.enum(USER_ROLES),
});
export type NewUserInput = z.input<typeof newUserSchema>;

export type PublicUser = Omit<User, 'passwordHash' | 'sessionVersion'>;

export function toPublicUser(user: User): PublicUser {
  const { passwordHash: _hash, sessionVersion: _version, ...rest } = user;
  return rest;
}

export class FirstRunClosed extends ApiError {
  constructor() {
    super(409, 'conflict', 'An administrator already exists; sign in instead');
  }
}

/** First run: the very first account becomes admin; afterwards this always refuses. */
export async function createFirstAdmin(input: Omit<NewUserInput, 'role'>, actor: Actor): Promise<PublicUser> {
  const data = newUserSchema.parse({ ...input, role: 'admin' });
  const db = await getDb();
  const created = await insertFirstUser(db, { ...data, passwordHash: await hashPassword(data.password) });
  if (!created) {
    await recordAudit(actor, { action: 'user.create_first_admin', outcome: 'denied', details: { reason: 'already_set_up' } }, db);
    throw new FirstRunClosed();
  }
  await recordAudit(
    { ...actor, userId: created.id, email: created.email, role: created.role },
    { action: 'user.create_first_admin', outcome: 'success', resourceType: 'user', resourceId: created.id },
    db,
  );
  return toPublicUser(created);
}

function assertAdmin(actor: Actor & { role?: string | null }): void {
  if (actor.role !== 'admin') throw forbidden('Only administrators can manage users');
}

export async function createUser(input: NewUserInput, actor: Actor): Promise<PublicUser> {
  const db = await getDb();
  try {
    assertAdmin(actor);
    const data = newUserSchema.parse(input);
    const created = await insertUser(db, { ...data, passwordHash: await hashPassword(data.password) }).catch((error) => {
      throw isUniqueViolation(error) ? conflict('A user with this email already exists') : error;
    });
    await recordAudit(actor, {
      action: 'user.create',
      outcome: 'success',
      resourceType: 'user',
      resourceId: created.id,
      details: { email: created.email, role: created.role },
    }, db);
    return toPublicUser(created);
  } catch (error) {
    if (error instanceof ApiError) {
      await recordAudit(actor, {
        action: 'user.create',
        outcome: error.status === 403 ? 'denied' : 'failure',
        details: { code: error.code },
      }, db);
    }
    throw error;
  }
}

const userChangeSchema = z
  .object({ role: z.enum(USER_ROLES).optional(), disabled: z.boolean().optional() })
  .refine((c) => c.role !== undefined || c.disabled !== undefined, 'Nothing to change');

/** Changes a user's role or disables them; their open sessions end at once. */
export async function changeUser(
  userId: string,
  changes: { role?: UserRole; disabled?: boolean },
  actor: Actor,
): Promise<PublicUser> {
  const db = await getDb();
  const details: Record<string, unknown> = { ...changes };
  try {
    assertAdmin(actor);
    const data = userChangeSchema.parse(changes);
    const target = z.string().uuid().safeParse(userId).success ? await findUserById(db, userId) : undefined;
    if (!target) throw notFound('No such user');
    if (target.id === actor.userId && (data.disabled || (data.role && data.role !== 'admin'))) {
      throw new ApiError(409, 'conflict', 'You cannot remove your own administrator access');
    }
    const updated = await updateUser(db, target.id, data);
    if (!updated) throw notFound('No such user');
    details.previousRole = target.role;
    await recordAudit(actor, { action: 'user.update', outcome: 'success', resourceType: 'user', resourceId: userId, details }, db);
    return toPublicUser(updated);
  } catch (error) {
    if (error instanceof ApiError) {
      await recordAudit(actor, {
        action: 'user.update',
        outcome: error.status === 403 ? 'denied' : 'failure',
        resourceType: 'user',
        resourceId: userId,
        details: { ...details, code: error.code },
      }, db);
    }
    throw error;
  }
}

export async function listAllUsers(actor: Actor): Promise<PublicUser[]> {
  assertAdmin(actor);
  return (await listUsers(await getDb())).map(toPublicUser);
}
