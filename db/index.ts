import path from 'node:path';
import { mkdirSync } from 'node:fs';
import type { ExtractTablesWithRelations } from 'drizzle-orm';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { getEnv } from '@/lib/env';
import { reportDatabaseFailure, reportDatabaseSuccess, setDatabaseProbe } from './availability';
import * as schema from './schema';

export type Schema = typeof schema;
/** The query API shared by the postgres-js and PGlite drivers; code never depends on which one runs. */
export type Database = PgDatabase<PgQueryResultHKT, Schema, ExtractTablesWithRelations<Schema>>;
export type Transaction = Parameters<Parameters<Database['transaction']>[0]>[0];
export type Executor = Database | Transaction;

export interface DatabaseHandle {
  db: Database;
  driver: 'postgres' | 'pglite';
  /** One round trip on the pool (no transaction, no statement cache). */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  /** A postgres:// URL; without it an embedded PGlite database lives in `dataDir`. */
  url?: string;
  /** Runs the migrations as this role (the schema owner) instead of `url`'s; PostgreSQL only. */
  migrationUrl?: string;
  dataDir: string;
  migrationsDir?: string;
}

function migrationsFolder(dir?: string): string {
  return dir ?? process.env.MIGRATIONS_DIR ?? path.join(process.cwd(), 'drizzle');
}

/** Opens a database and applies every committed migration before handing it out. */
export async function openDatabase(options: DatabaseOptions): Promise<DatabaseHandle> {
  const folder = migrationsFolder(options.migrationsDir);
  if (options.url) {
    const { default: postgres } = await import('postgres');
    const { drizzle } = await import('drizzle-orm/postgres-js');
    const { migrate } = await import('drizzle-orm/postgres-js/migrator');
    const client = postgres(options.url, {
      max: 10,
      onnotice: () => {},
      connect_timeout: 10,
      // postgres-js waits between reconnects with a backoff growing to 20 s, and requests queue
      // behind it: during an outage they would hang instead of answering 503, and after it the
      // app would come back late. Half a second keeps both prompt.
      backoff: () => 0.5,
      // Keep timestamps as the driver's Date objects; app code never sees raw strings.
    });
    const db = drizzle(client, { schema });
    try {
      if (options.migrationUrl) {
        const owner = postgres(options.migrationUrl, { max: 1, onnotice: () => {}, connect_timeout: 10 });
        try {
          await migrate(drizzle(owner, { schema }), { migrationsFolder: folder });
        } finally {
          await owner.end({ timeout: 5 });
        }
      } else {
        await migrate(db, { migrationsFolder: folder });
      }
    } catch (error) {
      // The database was unreachable (or the migration failed): the next attempt opens a new pool.
      await client.end({ timeout: 1 }).catch(() => {});
      throw error;
    }
    return {
      db: db as unknown as Database,
      driver: 'postgres',
      ping: async () => {
        await client`select 1`;
      },
      close: () => client.end({ timeout: 5 }),
    };
  }
  const { PGlite } = await import('@electric-sql/pglite');
  const { drizzle } = await import('drizzle-orm/pglite');
  const { migrate } = await import('drizzle-orm/pglite/migrator');
  const dir = path.join(options.dataDir, 'pglite');
  mkdirSync(dir, { recursive: true });
  const client = new PGlite(dir);
  const db = drizzle(client, { schema });
  await migrate(db, { migrationsFolder: folder });
  return {
    db: db as unknown as Database,
    driver: 'pglite',
    ping: async () => {
      await client.query('select 1');
    },
    close: () => client.close(),
  };
}

// Next bundles instrumentation, route handlers and server actions separately; a module-level
// variable would exist once per bundle, and two PGlite instances on one directory corrupt it.
const globalForDb = globalThis as typeof globalThis & { __imagingDb?: Promise<DatabaseHandle> };

/** The process-wide database, migrated on first use. */
export function getDatabase(): Promise<DatabaseHandle> {
  if (!globalForDb.__imagingDb) {
    const env = getEnv();
    const opening = openDatabase({ url: env.databaseUrl, migrationUrl: env.databaseMigrationUrl, dataDir: env.dataDir });
    opening.then(
      (handle) => {
        reportDatabaseSuccess();
        setDatabaseProbe(handle.ping);
      },
      () => {
        reportDatabaseFailure();
        // A failed open (database down at boot) must not poison every later request.
        if (globalForDb.__imagingDb === opening) globalForDb.__imagingDb = undefined;
      },
    );
    globalForDb.__imagingDb = opening;
  }
  return globalForDb.__imagingDb;
}

export async function getDb(): Promise<Database> {
  return (await getDatabase()).db;
}

export async function closeDb(): Promise<void> {
  const handle = globalForDb.__imagingDb;
  globalForDb.__imagingDb = undefined;
  setDatabaseProbe(undefined);
  if (handle) await (await handle).close();
}

export { schema };
