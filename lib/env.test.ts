import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { EnvError, parseEnv } from './env';

const strongSecret = 'q3Jm0Ykq5m8yJ6fJb6cC0tq2m5kqv8X4y1Qe7Zr9Ls0=';

function problemsOf(source: Record<string, string | undefined>): string[] {
  try {
    parseEnv(source);
  } catch (error) {
    if (error instanceof EnvError) return error.problems;
    throw error;
  }
  return [];
}

describe('parseEnv', () => {
  it('runs with no configuration at all outside production (embedded database, generated secret)', () => {
    const env = parseEnv({});
    expect(env.nodeEnv).toBe('development');
    expect(env.databaseUrl).toBeUndefined();
    expect(env.dataDir).toBe(path.resolve('./data'));
    expect(env.authSecret).toBeUndefined();
    expect(env.sessionMaxAgeSeconds).toBe(8 * 60 * 60);
  });

  it('requires AUTH_SECRET in production and says how to make one', () => {
    const problems = problemsOf({ NODE_ENV: 'production' });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^AUTH_SECRET: .*required in production.*openssl rand/);
  });

  it('accepts SESSION_SECRET as the production secret', () => {
    expect(parseEnv({ NODE_ENV: 'production', SESSION_SECRET: strongSecret }).authSecret).toBe(strongSecret);
  });

  it('refuses short and well-known secrets in production', () => {
    expect(problemsOf({ NODE_ENV: 'production', AUTH_SECRET: 'short' })[0]).toMatch(/at least 32 characters/);
    expect(problemsOf({ NODE_ENV: 'production', AUTH_SECRET: 'insecure-dev-secret-do-not-use-in-production' })[0]).toMatch(
      /well-known default/,
    );
  });

  it('lists every problem at once with the variable name', () => {
    const problems = problemsOf({
      NODE_ENV: 'production',
      DATABASE_URL: 'mysql://localhost/x',
      SESSION_MAX_AGE_SECONDS: 'soon',
    });
    expect(problems.map((p) => p.split(':')[0]).sort()).toEqual(['AUTH_SECRET', 'DATABASE_URL', 'SESSION_MAX_AGE_SECONDS']);
    expect(() => parseEnv({ DATABASE_URL: 'mysql://x' })).toThrow(/Invalid configuration:\n {2}- DATABASE_URL: must be a postgres/);
  });

  it('coerces numeric settings and keeps them in range', () => {
    const env = parseEnv({ LOGIN_MAX_FAILURES_PER_ACCOUNT: '3', LOGIN_LOCKOUT_SECONDS: '60' });
    expect(env.login).toEqual({ maxFailuresPerAccount: 3, maxFailuresPerAddress: 20, lockoutSeconds: 60 });
    expect(problemsOf({ LOGIN_MAX_FAILURES_PER_ACCOUNT: '0' })[0]).toMatch(/^LOGIN_MAX_FAILURES_PER_ACCOUNT/);
  });

  it('sizes the image worker pool from IMAGE_WORKERS, one per CPU by default', () => {
    expect(parseEnv({}).imaging.workers).toBe(os.availableParallelism());
    expect(parseEnv({ IMAGE_WORKERS: '3' }).imaging.workers).toBe(3);
    expect(parseEnv({ IMAGE_WORKERS: '0' }).imaging.workers).toBe(0);
    for (const bad of ['-1', 'many', '1.5', '1000']) expect(problemsOf({ IMAGE_WORKERS: bad })[0], bad).toMatch(/^IMAGE_WORKERS/);
  });

  it('accepts a postgres URL', () => {
    expect(parseEnv({ DATABASE_URL: 'postgres://u@127.0.0.1:5432/db' }).databaseUrl).toBe('postgres://u@127.0.0.1:5432/db');
  });

  it('takes a separate migration (owner) URL for PostgreSQL only', () => {
    const split = parseEnv({ DATABASE_URL: 'postgres://app@db/imaging', DATABASE_MIGRATION_URL: 'postgres://owner@db/imaging' });
    expect(split).toMatchObject({ databaseUrl: 'postgres://app@db/imaging', databaseMigrationUrl: 'postgres://owner@db/imaging' });
    // Without DATABASE_URL the embedded database runs its own migrations.
    expect(parseEnv({ DATABASE_MIGRATION_URL: 'postgres://owner@db/imaging' }).databaseMigrationUrl).toBeUndefined();
    expect(problemsOf({ DATABASE_URL: 'postgres://app@db/imaging', DATABASE_MIGRATION_URL: 'owner@db' })[0]).toMatch(/^DATABASE_MIGRATION_URL: must be a postgres/);
  });
});
