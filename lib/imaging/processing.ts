import { readFile } from 'node:fs/promises';
import { eq } from 'drizzle-orm';
import { getDb } from '@/db';
import { findInstanceWithContext, listStudyInstances } from '@/db/queries/instances';
import { advanceStudyStatus } from '@/db/queries/studies';
import { instances } from '@/db/schema';
import { extractMetadata, parseDicom } from '@/lib/dicom';
import { enqueueJob, registerJobHandler, type JobContext, type JobRecord } from '@/lib/jobs';
import { objectPath, storeBytes } from '@/lib/storage';
import { encodeForBrowser, type CatalogueUids } from './decode';
import { storeDefaultView } from './default-view';
import { checkDicomInWorker } from './image-pool';

export const PROCESS_STUDY = 'process-study';

export interface InstanceOutcome {
  instanceId: string;
  ok: boolean;
  error?: string;
  /** Whether the viewer gets a transcoded copy instead of the original. */
  transcoded?: boolean;
}

/** The catalogue's UIDs of an instance that ingest had to give some (its file lacks them). */
export async function catalogueUids(instance: { id: string; metadata: unknown }): Promise<CatalogueUids | undefined> {
  if (!(instance.metadata as { generatedUids?: unknown[] } | null)?.generatedUids?.length) return undefined;
  const row = await findInstanceWithContext(await getDb(), instance.id);
  return row && { studyInstanceUid: row.study.studyInstanceUid, seriesInstanceUid: row.series.seriesInstanceUid, sopInstanceUid: row.instance.sopInstanceUid };
}

/**
 * Processing a study: every instance's first frame is decoded (proving the file renders); files
 * the browser viewer cannot decode get a transcoded copy beside the untouched original; and the
 * study's status moves received → processing → processed (or failed when nothing decodes).
 * Safe to repeat: a job may run again after a crash.
 */
export async function processStudy(studyId: string, ctx: Pick<JobContext, 'signal' | 'setProgress'>) {
  const db = await getDb();
  await advanceStudyStatus(db, studyId, 'processing');
  const targets = await listStudyInstances(db, studyId);
  const outcomes: InstanceOutcome[] = [];
  const seen = new Set(targets.map((t) => t.instance.id));
  for (let i = 0; i < targets.length; i++) {
    const target = targets[i]!;
    ctx.signal.throwIfAborted();
    const outcome: InstanceOutcome = { instanceId: target.instance.id, ok: true };
    try {
      if (target.instance.format === 'dicom') {
        const path = objectPath(target.instance.storageKey);
        const bytes = new Uint8Array(await readFile(path));
        const dataset = parseDicom(bytes, { stopAtPixelData: false });
        const meta = extractMetadata(dataset);
        if (meta.hasPixelData) {
          // Decoding is the slow part: an image worker does it, away from the request thread. The
          // default view it renders is stored, and served to requests for exactly that view.
          const checked = await checkDicomInWorker(path, { renderDefaultView: true });
          if (checked.defaultView) await storeDefaultView(target.instance.storageKey, checked.defaultView);
          if (!target.instance.browserStorageKey) {
            const browser = await encodeForBrowser(bytes, dataset, { uids: await catalogueUids(target.instance) });
            if (browser.change !== 'none') {
              const stored = await storeBytes(browser.bytes);
              await db
                .update(instances)
                .set({ browserStorageKey: stored.key, browserTransferSyntaxUid: browser.transferSyntaxUid })
                .where(eq(instances.id, target.instance.id));
              outcome.transcoded = true;
            }
          } else {
            outcome.transcoded = true;
          }
        }
      }
    } catch (error) {
      outcome.ok = false;
      outcome.error = error instanceof Error ? error.message : String(error);
    }
    outcomes.push(outcome);
    await ctx.setProgress(Math.round(((i + 1) / targets.length) * 100));
    if (i === targets.length - 1) {
      // Instances stored while this job ran found it running and queued nothing (one job per
      // study): take them on before finishing. (One stored between this look and the job's end
      // is still missed until the study is processed again; see the README.)
      for (const late of await listStudyInstances(db, studyId)) {
        if (!seen.has(late.instance.id)) {
          seen.add(late.instance.id);
          targets.push(late);
        }
      }
    }
  }
  const failed = outcomes.filter((o) => !o.ok);
  const status = targets.length > 0 && failed.length === targets.length ? 'failed' : 'processed';
  await advanceStudyStatus(db, studyId, status);
  return { instances: targets.length, decoded: outcomes.length - failed.length, transcoded: outcomes.filter((o) => o.transcoded).length, failed };
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
