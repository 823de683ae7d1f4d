import { randomUUID } from 'node:crypto';
import { writeFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { getDb } from '@/db';
import { ApiError } from '@/lib/api/errors';
import { ingestForTest } from '@/lib/testing/ingest';
import { formatTally, newTally, verifyStoredInstance, type FuzzTally } from '@/lib/testing/fuzz/oracle';
import { describeVariant, fixtureSources, variants, type Variant } from '@/lib/testing/fuzz/variants';
import { closeParsePool, parseWorkerRestarts } from './parse-pool';

/**
 * Hostile files through the real ingest pipeline (parse workers, storage, PostgreSQL): mutants
 * of every valid fixture must each be stored intact or refused with a clear 4xx. The long run
 * (5,000 DICOM + 2,000 NIfTI over HTTP against a production server) is `npm run fuzz`.
 * Reproduce a failure with FUZZ_SEED=<seed> and the source/index the report names.
 */
const SEED = Number(process.env.FUZZ_SEED ?? 20261201);
const DICOM_VARIANTS = Number(process.env.FUZZ_DICOM_VARIANTS ?? 300);
const NIFTI_VARIANTS = Number(process.env.FUZZ_NIFTI_VARIANTS ?? 150);

afterAll(async () => closeParsePool());

async function ingestVariant(v: Variant, tally: FuzzTally): Promise<void> {
  tally.variants++;
  const file = path.join(process.env.DATA_DIR!, `fuzz-${randomUUID()}`);
  await writeFile(file, v.data);
  try {
    const result = await ingestForTest(file, v.kind === 'nifti' ? { patientId: 'FUZZ', patientName: 'Fuzz^Nifti' } : {});
    for (const item of result.items) {
      const problem = await verifyStoredInstance(await getDb(), item.instanceId, v.data, item.format, item.duplicate);
      if (problem) tally.failures.push(`${describeVariant(v, SEED)}: ${problem}`);
      if (item.duplicate) tally.duplicates++;
      else tally.stored++;
    }
  } catch (error) {
    if (error instanceof ApiError && error.status >= 400 && error.status < 500 && error.code && error.message) {
      const reason = (error.details as { reason?: string } | undefined)?.reason;
      const key = `${error.status} ${error.code}${reason ? `/${reason}` : ''}`;
      tally.refused[key] = (tally.refused[key] ?? 0) + 1;
    } else {
      tally.serverErrors++;
      tally.failures.push(`${describeVariant(v, SEED)}: ${error instanceof ApiError ? `${error.status} ${error.code}` : 'unexpected error'}: ${(error as Error).stack ?? String(error)}`);
    }
  } finally {
    await rm(file, { force: true });
  }
}

describe(`ingest of hostile mutants of the corpus (seed ${SEED})`, () => {
  const sources = fixtureSources();

  for (const kind of ['dicom', 'nifti'] as const) {
    const count = kind === 'dicom' ? DICOM_VARIANTS : NIFTI_VARIANTS;
    it(`stores or refuses with a 4xx each of ${count} ${kind} variants, without a 5xx or a crash`, async () => {
      const tally = newTally();
      const restarts = parseWorkerRestarts();
      for (const v of variants(sources, kind, count, SEED)) await ingestVariant(v, tally);
      const workerDeaths = parseWorkerRestarts() - restarts;
      console.log(`[fuzz] ${formatTally(kind, tally)}; parse workers replaced: ${workerDeaths}`);
      expect(tally.failures.slice(0, 5)).toEqual([]);
      expect(tally.variants).toBe(count);
      // The mutants must exercise both branches, or the mutator has gone soft (or everything is refused).
      expect(tally.stored).toBeGreaterThan(count * 0.05);
      expect(Object.values(tally.refused).reduce((a, b) => a + b, 0)).toBeGreaterThan(count * 0.2);
    }, 600_000);
  }
});
