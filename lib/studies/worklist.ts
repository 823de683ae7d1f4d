import { getDb } from '@/db';
import { listStudies } from '@/db/queries/studies';
import { auditPatientAccess, type Actor } from '@/lib/audit';

/** The worklist as the signed-in user sees it; reading it is an access to patient data. */
export async function loadWorklist(actor: Actor, page = { limit: 50, offset: 0 }) {
  return auditPatientAccess(actor, { action: 'study.list', resourceType: 'study' }, async () =>
    listStudies(await getDb(), page),
  );
}
