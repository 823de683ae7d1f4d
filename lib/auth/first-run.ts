import { getDb } from '@/db';
import { countUsers } from '@/db/queries/users';

/** True until the first account exists; the setup page is open only then. */
export async function isSetupRequired(): Promise<boolean> {
  return (await countUsers(await getDb())) === 0;
}
