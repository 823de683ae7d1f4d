import { readFile } from 'node:fs/promises';
import { eq } from 'drizzle-orm';
import { getDb } from '@/db';
import { listStudyInstances } from '@/db/queries/instances';
import { studies } from '@/db/schema';
import { extractMetadata, parseDicom } from '@/lib/dicom';
import { enqueueJob, registerJobHandler, type JobContext, type JobRecord } from '@/lib/jobs';
import { objectPath } from '@/lib/storage';
import { canBrowserDecode, decodeFrame } from './decode';

export const PROCESS_STUDY = 'process-study';

export interface InstanceOutcome {
  instanceId: string;
  ok: boolean;
  error?: string;
  browserDecodable?: boolean;
}

/**
 * Processing a study: every instance's first frame is decoded (proving the file renders), and
 * the study's status moves received → processing → processed (or failed when nothing decodes).
 */
export async function processStudy(studyId: string, ctx: Pick<JobContext, 'signal' | 'setProgress'>) {
  const db = await getDb();
  await db.update(studies).set({ status: 'processing' }).where(eq(studies.id, studyId));
  const targets = await listStudyInstances(db, studyId);
  const outcomes: InstanceOutcome[] = [];
  for (const [i, target] of targets.entries()) {
    ctx.signal.throwIfAborted();
    const outcome: InstanceOutcome = { instanceId: target.instance.id, ok: true };
    try {
      if (target.instance.format === 'dicom') {
        const bytes = new Uint8Array(await readFile(objectPath(target.instance.storageKey)));
        const dataset = parseDicom(bytes, { stopAtPixelData: false });
        const meta = extractMetadata(dataset);
        if (meta.hasPixelData) {
          await decodeFrame(dataset, 0);
          outcome.browserDecodable = canBrowserDecode(meta.transferSyntaxUid ?? dataset.transferSyntax.uid);
        }
      }
    } catch (error) {
      outcome.ok = false;
      outcome.error = error instanceof Error ? error.message : String(error);
    }
    outcomes.push(outcome);
    await ctx.setProgress(Math.round(((i + 1) / targets.length) * 100));
  }
  const failed = outcomes.filter((o) => !o.ok);
  const status = targets.length > 0 && failed.length === targets.length ? 'failed' : 'processed';
  await db.update(studies).set({ status }).where(eq(studies.id, studyId));
  return { instances: targets.length, decoded: outcomes.length - failed.length, failed };
}

export function registerProcessingJobs(): void {
  registerJobHandler(PROCESS_STUDY, async (job: JobRecord, ctx: JobContext) => {
    const studyId = (job.payload as { studyId?: string }).studyId;
    if (!studyId) throw new Error('process-study job without a studyId');
    return processStudy(studyId, ctx);
  });
}

/** Queues (or finds the already queued) processing of a study. */
export async function requestProcessing(studyId: string, createdBy: string | null) {
  return enqueueJob(PROCESS_STUDY, { studyId }, { studyId, createdBy, dedupeKey: studyId, timeoutSeconds: 300, maxAttempts: 3 });
}
