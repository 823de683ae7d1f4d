import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { getDb } from '@/db';
import { findInstanceWithContext } from '@/db/queries/instances';
import { notFound } from '@/lib/api/errors';
import { auditPatientAccess, type Actor } from '@/lib/audit';
import { listElements, parseDicom } from '@/lib/dicom';
import { encodeForBrowser } from '@/lib/imaging/decode';
import { niftiToDicom, TimePointError } from '@/lib/imaging/nifti-dicom';
import { objectPath } from '@/lib/storage';

/** Query string of GET /api/instances/{id}/file (the OpenAPI document lists the same schema). */
export const instanceFileQuerySchema = z.object({
  original: z.enum(['true', 'false']).optional().describe('true: the stored file as uploaded (NIfTI as .nii or .nii.gz), as an attachment'),
  t: z.coerce.number().int().min(0).max(1_000_000).optional().describe('NIfTI only: which 3D volume of a 4D file (0-based); 404 beyond the last'),
});

async function loadInstance(actor: Actor, instanceId: string, action: string) {
  const row = await auditPatientAccess(
    actor,
    { action, resourceType: 'instance', resourceId: instanceId, describe: (r) => ({ patientId: r.patient.id, studyId: r.study.id }) },
    async () => (await findInstanceWithContext(await getDb(), instanceId)) ?? null,
  );
  if (!row) throw notFound('No such instance');
  return row;
}

/**
 * The instance as DICOM the browser viewer can decode: the stored transcoded copy, the original
 * when it already qualifies, a copy made now when processing has not run yet, or for NIfTI a
 * multi-frame DICOM of one of its 3D volumes (`timePoint`, 0-based) converted on the fly.
 * `original` asks for the stored file as uploaded.
 */
export async function loadInstanceFile(
  actor: Actor,
  instanceId: string,
  options: { original?: boolean; timePoint?: number } = {},
): Promise<{ bytes: Uint8Array; filename: string; contentType: string }> {
  const row = await loadInstance(actor, instanceId, options.original ? 'instance.download' : 'instance.view');
  const { instance } = row;
  if (options.original && instance.format === 'nifti') {
    // Stored as uploaded: a .nii.gz stays gzip-compressed.
    const gzip = (instance.metadata as { gzip?: boolean }).gzip === true;
    return {
      bytes: new Uint8Array(await readFile(objectPath(instance.storageKey))),
      filename: `${instance.sopInstanceUid}.${gzip ? 'nii.gz' : 'nii'}`,
      contentType: gzip ? 'application/gzip' : 'application/octet-stream',
    };
  }
  const dicom = (bytes: Uint8Array) => ({ bytes, filename: `${instance.sopInstanceUid}.dcm`, contentType: 'application/dicom' });
  if (options.original) return dicom(new Uint8Array(await readFile(objectPath(instance.storageKey))));
  if (instance.browserStorageKey) return dicom(new Uint8Array(await readFile(objectPath(instance.browserStorageKey))));
  const bytes = new Uint8Array(await readFile(objectPath(instance.storageKey)));
  if (instance.format === 'nifti') {
    const identity = {
      patientName: row.patient.name,
      patientId: row.patient.patientKey,
      studyInstanceUid: row.study.studyInstanceUid,
      seriesInstanceUid: row.series.seriesInstanceUid,
      sopInstanceUid: instance.sopInstanceUid,
      modality: row.series.modality,
      seriesDescription: row.series.description,
    };
    let converted: Buffer;
    try {
      converted = niftiToDicom(bytes, identity, { timePoint: options.timePoint });
    } catch (error) {
      if (error instanceof TimePointError) throw notFound(`No such time point: the volume has ${error.count}`);
      throw error;
    }
    return dicom(new Uint8Array(converted.buffer, converted.byteOffset, converted.byteLength));
  }
  const meta = instance.metadata as { hasPixelData?: boolean; generatedUids?: string[] };
  if (!meta.hasPixelData) return dicom(bytes);
  // Not processed yet: the copy processing would store, made now (the file as it is when dwv
  // shows it correctly).
  const uids = meta.generatedUids?.length ? { studyInstanceUid: row.study.studyInstanceUid, seriesInstanceUid: row.series.seriesInstanceUid, sopInstanceUid: instance.sopInstanceUid } : undefined;
  return dicom((await encodeForBrowser(bytes, undefined, { uids })).bytes);
}

export interface TagRow {
  tag: string;
  keyword: string;
  vr: string;
  value: string;
  depth: number;
}

/** Every element of a DICOM instance (up to the pixel data) as display rows, for the tag browser. */
export async function loadInstanceTags(actor: Actor, instanceId: string): Promise<TagRow[]> {
  const row = await loadInstance(actor, instanceId, 'instance.tags');
  if (row.instance.format !== 'dicom') return [];
  const dataset = parseDicom(new Uint8Array(await readFile(objectPath(row.instance.storageKey))), { stopAtPixelData: true });
  return listElements(dataset).map((e) => ({
    tag: `(${e.tag.slice(0, 4)},${e.tag.slice(4)})`,
    keyword: e.keyword,
    vr: e.vr,
    value: e.value,
    depth: e.depth,
  }));
}
