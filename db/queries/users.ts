import { asc, count, eq, sql } from 'drizzle-orm';
import type { Executor } from '../index';
import { users, type NewUser, type User, type UserRole } from '../schema';

export async function countUsers(db: Executor): Promise<number> {
  const [row] = await db.select({ n: count() }).from(users);
  return row?.n ?? 0;
}

export async function findUserByEmail(db: Executor, email: string): Promise<User | undefined> {
  const [row] = await db.select().from(users).where(eq(users.email, email.toLowerCase())).limit(1);
  return row;
}

export async function findUserById(db: Executor, id: string): Promise<User | undefined> {
  const [row] = await db.select().from(users).where(eq(users.id, id)).limit(1);
  return row;
}

export async function listUsers(db: Executor): Promise<User[]> {
  return db.select().from(users).orderBy(asc(users.email));
}

export async function insertUser(db: Executor, user: NewUser): Promise<User> {
  const [row] = await db
    .insert(users)
    .values({ ...user, email: user.email.toLowerCase() })
    .returning();
  if (!row) throw new Error('insert returned no row');
  return row;
}

/**
 * Inserts the first account only while there is none. The transaction-scoped advisory lock
 * serialises concurrent first-run requests so exactly one of them creates the admin.
 */
export async function insertFirstUser(db: Executor, user: NewUser): Promise<User | undefined> {
  return db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(hashtext('imaging:first-user'))`);
    if ((await countUsers(tx)) > 0) return undefined;
    return insertUser(tx, user);
  });
}

export async function updateUser(
  db: Executor,
  id: string,
  changes: { role?: UserRole; disabled?: boolean; name?: string; passwordHash?: string },
): Promise<User | undefined> {
  const [row] = await db
    .update(users)
    // Any change to who a user is or what they may do ends their existing sessions.
    .set({ ...changes, sessionVersion: sql`${users.sessionVersion} + 1` })
    .where(eq(users.id, id))
    .returning();
  return row;
}

export async function touchLastSignIn(db: Executor, id: string): Promise<void> {
  await db.update(users).set({ lastSignInAt: new Date() }).where(eq(users.id, id));
}
