import { and, eq, isNull, lt } from 'drizzle-orm';
import type { Executor } from '../index';
import { users, userSessions, type User, type UserSession } from '../schema';

export async function insertSession(db: Executor, row: typeof userSessions.$inferInsert): Promise<UserSession> {
  const [session] = await db.insert(userSessions).values(row).returning();
  if (!session) throw new Error('session insert returned no row');
  return session;
}

/** The session and its user in one round trip: checked on every request. */
export async function findSessionWithUser(db: Executor, sessionId: string): Promise<{ session: UserSession; user: User } | undefined> {
  const [row] = await db
    .select({ session: userSessions, user: users })
    .from(userSessions)
    .innerJoin(users, eq(users.id, userSessions.userId))
    .where(eq(userSessions.id, sessionId))
    .limit(1);
  return row;
}

/** Records activity, at most once per `granularity`, so that most requests write nothing. */
export async function touchSession(db: Executor, sessionId: string, now: Date, granularityMs: number): Promise<void> {
  await db
    .update(userSessions)
    .set({ lastSeenAt: now })
    .where(and(eq(userSessions.id, sessionId), lt(userSessions.lastSeenAt, new Date(now.getTime() - granularityMs))));
}

export async function revokeSession(db: Executor, sessionId: string, reason: string, now = new Date()): Promise<boolean> {
  const rows = await db
    .update(userSessions)
    .set({ revokedAt: now, revokedReason: reason })
    .where(and(eq(userSessions.id, sessionId), isNull(userSessions.revokedAt)))
    .returning({ id: userSessions.id });
  return rows.length > 0;
}

export async function revokeUserSessions(db: Executor, userId: string, reason: string, now = new Date()): Promise<number> {
  const rows = await db
    .update(userSessions)
    .set({ revokedAt: now, revokedReason: reason })
    .where(and(eq(userSessions.userId, userId), isNull(userSessions.revokedAt)))
    .returning({ id: userSessions.id });
  return rows.length;
}
