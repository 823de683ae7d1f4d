import { sql } from 'drizzle-orm';
import { getDatabase } from '@/db';
import { reportDatabaseSuccess } from '@/db/availability';

/** Liveness plus a real round trip to the database; a failure surfaces as the API's 503. */
export async function checkHealth(): Promise<{ status: 'ok'; database: 'postgres' | 'pglite' }> {
  const { db, driver } = await getDatabase();
  await db.execute(sql`select 1`);
  reportDatabaseSuccess();
  return { status: 'ok', database: driver };
}
