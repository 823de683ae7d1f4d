import { randomUUID } from 'node:crypto';
import { getDb } from '@/db';
import { insertUser } from '@/db/queries/users';
import type { User, UserRole } from '@/db/schema';
import { hashPassword } from '@/lib/auth/password';
import { API_SCOPES } from '@/lib/auth/scopes';
import type { Actor } from '@/lib/audit';

export const TEST_PASSWORD = 'correct horse battery staple';

/** A user with a unique email, so tests sharing one database never collide. */
export async function createTestUser(role: UserRole = 'clinician', overrides: Partial<User> = {}): Promise<User> {
  return insertUser(await getDb(), {
    email: `${role}-${randomUUID()}@example.test`,
    name: `Test ${role}`,
    role,
    passwordHash: await hashPassword(TEST_PASSWORD),
    ...overrides,
  });
}

export function actorOfUser(user: Pick<User, 'id' | 'email' | 'role'>, clientAddress = '192.0.2.10'): Actor {
  return { userId: user.id, email: user.email, role: user.role, clientAddress, userAgent: 'vitest' };
}

/** A documentation-range address (RFC 5737/3849) unique to one test, for per-address throttling. */
export function uniqueAddress(): string {
  const n = Math.floor(Math.random() * 0xffff).toString(16);
  return `2001:db8::${n}:${Math.floor(Math.random() * 0xffff).toString(16)}`;
}

/**
 * A bearer token for an API client with the given role (and by default every scope, so that the
 * role is what a test exercises); the secret is returned once, as in production.
 */
export async function createTestToken(role: UserRole = 'clinician', scopes: string[] = [...API_SCOPES]): Promise<{ secret: string; id: string }> {
  const { generateApiTokenSecret } = await import('@/lib/auth/tokens');
  const { insertApiToken } = await import('@/db/queries/api-tokens');
  const generated = generateApiTokenSecret();
  const token = await insertApiToken(await getDb(), { name: `test-${role}`, tokenHash: generated.hash, prefix: generated.prefix, role, scopes });
  return { secret: generated.secret, id: token.id };
}
