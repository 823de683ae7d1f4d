import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { eq } from 'drizzle-orm';
import type { Database } from '@/db';
import { instances } from '@/db/schema';
import { dataDir, objectPath } from '@/lib/storage';

/** The bytes storage must hold for an accepted upload: the same, with a DICOM preamble blanked. */
export function expectedStoredBytes(data: Buffer, format: 'dicom' | 'nifti'): Buffer {
  if (format !== 'dicom' || data.length < 132 || data.toString('latin1', 128, 132) !== 'DICM') return data;
  const copy = Buffer.from(data);
  copy.fill(0, 0, 128);
  return copy;
}

const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

/**
 * Checks one stored instance against the bytes that were uploaded: the catalogue row exists, its
 * object lies under DATA_DIR/objects under a server-made key, and holds exactly the expected
 * bytes (sha256 and size agree with the row). Returns what is wrong, or null.
 */
export async function verifyStoredInstance(db: Database, instanceId: string, uploaded: Buffer, format: 'dicom' | 'nifti', duplicate: boolean): Promise<string | null> {
  const [row] = await db.select().from(instances).where(eq(instances.id, instanceId));
  if (!row) return `instance ${instanceId} is not in the catalogue`;
  const file = objectPath(row.storageKey);
  if (!file.startsWith(path.join(dataDir(), 'objects') + path.sep)) return `object ${file} lies outside DATA_DIR/objects`;
  const stored = await readFile(file).catch(() => null);
  if (!stored) return `object ${row.storageKey} of instance ${instanceId} is missing`;
  if (sha256(stored) !== row.sha256 || stored.length !== row.sizeBytes) return `object ${row.storageKey} does not match its row's sha256/size`;
  if (format === 'dicom' && stored.length >= 132 && stored.toString('latin1', 128, 132) === 'DICM' && stored.subarray(0, 128).some((b) => b !== 0)) {
    return `the stored copy of ${instanceId} keeps a non-zero preamble`;
  }
  // A duplicate answers with the instance stored first, whose bytes may differ outside the dataset.
  if (!duplicate && row.sha256 !== sha256(expectedStoredBytes(uploaded, format))) return `instance ${instanceId} holds other bytes than were uploaded`;
  return null;
}

export interface FuzzTally {
  variants: number;
  stored: number;
  duplicates: number;
  refused: Record<string, number>;
  serverErrors: number;
  crashes: number;
  failures: string[];
}

export function newTally(): FuzzTally {
  return { variants: 0, stored: 0, duplicates: 0, refused: {}, serverErrors: 0, crashes: 0, failures: [] };
}

export function formatTally(label: string, t: FuzzTally): string {
  const refused = Object.entries(t.refused).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k}: ${v}`).join(', ');
  const refusedTotal = Object.values(t.refused).reduce((a, b) => a + b, 0);
  return `${label}: ${t.variants} variants, stored ${t.stored} (+${t.duplicates} duplicates of stored instances), refused ${refusedTotal} [${refused}], 5xx ${t.serverErrors}, crashes ${t.crashes}, other failures ${t.failures.length}`;
}
