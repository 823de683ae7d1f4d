import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import { getDb } from '@/db';
import { registerInstance, type CatalogEntry } from '@/db/queries/catalog';
import { ApiError } from '@/lib/api/errors';
import { DicomParseError, type DicomMetadata } from '@/lib/dicom';
import { getEnv } from '@/lib/env';
import { NiftiParseError, type NiftiInspection } from '@/lib/nifti';
import { removeObject, settleObject, storeFile } from '@/lib/storage';
import { extractArchive, type SkippedEntry } from './archive';
import { recogniseFormat, SNIFF_BYTES } from './formats';
import { parseDicomHeader, parseNifti } from './parse-pool';
import type { DicomHeader } from './parse-tasks';
import { findUidProblem } from './validate-dicom';
import { printableText, type UploadMetadata } from './metadata';
import { uidFromName, uidFromUuid } from './uid';
import { readFileHead } from './file-head';

export interface IngestContext {
  uploadId: string;
  userId: string | null;
  metadata: UploadMetadata;
  /** Display name of the uploaded file. */
  name: string | null;
}

export interface IngestedItem {
  name: string | null;
  format: 'dicom' | 'nifti';
  instanceId: string;
  seriesId: string;
  studyId: string;
  patientId: string;
  sopInstanceUid: string;
  duplicate: boolean;
}

export interface IngestResult {
  items: IngestedItem[];
  skipped: SkippedEntry[];
}

const MEDIA_STORAGE_DIRECTORY = '1.2.840.10008.1.3.10';

/** Old ACR-NEMA style dates (1993.04.30) are common in archives; the catalogue keeps YYYYMMDD. */
function normaliseDate(value: string | null | undefined): string | null {
  if (!value) return null;
  const compact = value.trim().replace(/^(\d{4})[.-](\d{2})[.-](\d{2})$/, '$1$2$3');
  return /^\d{8}$/.test(compact) ? compact : null;
}

// Control characters (NUL above all, which PostgreSQL text and jsonb refuse) are damage, not data.
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g;
const text = (value: unknown, max = 256): string | null => {
  if (typeof value !== 'string') return null;
  const clean = value.replace(CONTROL, '').replace(/[\r\n\t]+/g, ' ').trim();
  return clean ? clean.slice(0, max) : null;
};

/** The parsed header as stored in jsonb: the same values with NULs dropped from every string. */
function jsonSafe(value: unknown): unknown {
  if (typeof value === 'string') return value.includes('\u0000') ? value.replaceAll('\u0000', '') : value;
  if (Array.isArray(value)) return value.map(jsonSafe);
  if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, jsonSafe(v)]));
  return value;
}
const int = (value: unknown): number | null => (typeof value === 'number' && Number.isFinite(value) ? Math.trunc(value) : null);

async function readDicomHeader(file: string, size: number): Promise<DicomHeader> {
  try {
    return await parseDicomHeader(file, size);
  } catch (error) {
    if (error instanceof DicomParseError) {
      const status = error.code === 'inflate_limit' ? 413 : 422;
      throw new ApiError(status, status === 413 ? 'payload_too_large' : 'invalid_dicom', `Invalid DICOM file: ${error.message}`, {}, { reason: error.code });
    }
    throw error;
  }
}

/** Stores the bytes, then files them in the catalogue; a failure in between leaves nothing behind. */
async function storeAndRegister(
  file: string,
  zeroPrefix: number,
  build: (stored: { key: string; size: number; sha256: string }) => CatalogEntry,
): Promise<Omit<IngestedItem, 'name' | 'format' | 'sopInstanceUid'>> {
  const stored = await storeFile(file, { zeroPrefix, pending: true });
  try {
    const registered = await registerInstance(await getDb(), build(stored));
    if (registered.duplicate) await removeObject(stored.key);
    else await settleObject(stored.key);
    return registered;
  } catch (error) {
    await removeObject(stored.key);
    throw error;
  }
}

/**
 * UIDs for an image that lacks some (kept where it has them), derived from what it holds rather
 * than drawn at random, so that uploading the same file again finds it instead of storing a copy:
 * the SOP Instance UID from the file's content, the study from the patient and study attributes,
 * the series from those and the series attributes. Files that share all of them (slices of one
 * exam exported without UIDs) land in one series; with no identifying attribute at all, a file is
 * a study of its own. The stored file is not changed; the viewer's copy carries these UIDs.
 */
async function generatedUids(file: string, meta: DicomMetadata, hasPreamble: boolean) {
  // The preamble is not content (storage blanks it): the same dataset behind another preamble is
  // the same instance.
  const content = await new Promise<string>((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(file, { start: hasPreamble ? 128 : 0 }).on('data', (chunk) => hash.update(chunk)).on('error', reject).on('end', () => resolve(hash.digest('hex')));
  });
  const studyKey = [meta.patientId, meta.issuerOfPatientId, meta.patientName, meta.patientBirthDate, meta.studyDate, meta.studyTime, meta.accessionNumber, meta.studyDescription];
  const identified = studyKey.some((v) => typeof v === 'string' && v.trim() !== '');
  const studyInstanceUid = meta.studyInstanceUid ?? (identified ? uidFromName('study', ...studyKey.map((v) => v?.trim() ?? '')) : uidFromName('study-of-file', content));
  const seriesKey = [meta.modality, meta.seriesNumber === null ? '' : String(meta.seriesNumber), meta.seriesDescription, meta.bodyPartExamined];
  return {
    studyInstanceUid,
    seriesInstanceUid: meta.seriesInstanceUid ?? (identified ? uidFromName('series', studyInstanceUid, ...seriesKey.map((v) => v?.trim() ?? '')) : uidFromName('series-of-file', content)),
    sopInstanceUid: meta.sopInstanceUid ?? uidFromName('instance', content),
  };
}

async function ingestDicom(file: string, size: number, hasPreamble: boolean, ctx: IngestContext, name: string | null): Promise<IngestedItem> {
  const meta = await readDicomHeader(file, size);
  if (meta.sopClassUid === MEDIA_STORAGE_DIRECTORY || meta.mediaStorageSopClassUid === MEDIA_STORAGE_DIRECTORY) {
    throw new ApiError(422, 'invalid_dicom', 'This is a DICOMDIR index, not an image; upload the folder or a zip of it instead', {}, { reason: 'dicomdir' });
  }
  const problem = meta.problem ?? findUidProblem(meta);
  if (problem) {
    throw new ApiError(422, 'invalid_dicom', `Invalid DICOM file: ${problem.message}`, {}, { reason: problem.reason });
  }
  const missing = (['studyInstanceUid', 'seriesInstanceUid', 'sopInstanceUid'] as const).filter((k) => !meta[k]);
  // An image without UIDs of its own (old exports, test images, hand-made files) is still an image
  // a radiologist expects to open: the platform gives it UIDs (below). Anything else without them
  // is not worth guessing about.
  if (missing.length && !meta.hasPixelData) {
    throw new ApiError(422, 'invalid_dicom', `Invalid DICOM file: missing ${missing.join(', ')}`, {}, { reason: 'missing_uid' });
  }
  const uids = missing.length ? await generatedUids(file, meta, hasPreamble) : { studyInstanceUid: meta.studyInstanceUid!, seriesInstanceUid: meta.seriesInstanceUid!, sopInstanceUid: meta.sopInstanceUid! };
  const studyUid = uids.studyInstanceUid;
  const registered = await storeAndRegister(file, hasPreamble ? 128 : 0, (stored) => ({
    patient: {
      // Without a Patient ID the study's UID keeps unrelated anonymous studies apart.
      patientKey: text(meta.patientId, 64) ?? `ANON-${studyUid.slice(-24)}`,
      issuer: text(meta.issuerOfPatientId, 64) ?? '',
      name: text(meta.patientName),
      birthDate: normaliseDate(meta.patientBirthDate),
      sex: text(meta.patientSex, 16),
    },
    study: {
      studyInstanceUid: studyUid,
      studyDate: normaliseDate(meta.studyDate),
      studyTime: text(meta.studyTime, 32),
      accessionNumber: text(meta.accessionNumber, 64),
      description: text(meta.studyDescription),
      referringPhysician: text(meta.referringPhysicianName),
      createdBy: ctx.userId,
    },
    series: {
      seriesInstanceUid: uids.seriesInstanceUid,
      modality: text(meta.modality, 16),
      seriesNumber: int(meta.seriesNumber),
      description: text(meta.seriesDescription),
      bodyPart: text(meta.bodyPartExamined, 64),
    },
    instance: {
      sopInstanceUid: uids.sopInstanceUid,
      sopClassUid: text(meta.sopClassUid, 64),
      instanceNumber: int(meta.instanceNumber),
      format: 'dicom',
      transferSyntaxUid: text(meta.transferSyntaxUid, 64),
      storageKey: stored.key,
      sizeBytes: stored.size,
      sha256: stored.sha256,
      rows: int(meta.rows),
      columns: int(meta.columns),
      frames: Math.max(1, int(meta.numberOfFrames) ?? 1),
      metadata: jsonSafe({ ...meta, problem: undefined, ...(missing.length ? { generatedUids: missing } : {}) }) as Record<string, unknown>,
      uploadId: ctx.uploadId,
    },
  }));
  return { ...registered, name, format: 'dicom', sopInstanceUid: uids.sopInstanceUid };
}

async function inspectNiftiFile(file: string): Promise<NiftiInspection> {
  try {
    return await parseNifti(file);
  } catch (error) {
    if (error instanceof NiftiParseError) {
      if (error.code === 'inflate_limit' || error.code === 'dimensions_too_large') {
        throw new ApiError(413, 'payload_too_large', `NIfTI file refused: ${error.message}`, {}, { reason: error.code });
      }
      if (error.code === 'not_nifti') {
        throw new ApiError(415, 'unsupported_format', 'A gzip file that does not hold a NIfTI volume', {}, { reason: error.code });
      }
      throw new ApiError(422, 'invalid_nifti', `Invalid NIfTI file: ${error.message}`, {}, { reason: error.code });
    }
    throw error;
  }
}

async function ingestNifti(file: string, ctx: IngestContext, name: string | null): Promise<IngestedItem> {
  const inspection = await inspectNiftiFile(file);
  const { header } = inspection;
  // Name-based on the upload and the content: ingesting the same upload again (after a crash
  // between the catalogue commit and the upload's `ready`) finds it instead of adding a series.
  let sopInstanceUid = '';
  const registered = await storeAndRegister(file, 0, (stored) => ({
    patient: {
      patientKey: ctx.metadata.patientId || `NIFTI-${ctx.uploadId.slice(0, 8).toUpperCase()}`,
      issuer: '',
      name: ctx.metadata.patientName || null,
    },
    study: {
      // One study per upload (a zip of volumes stays together) unless the client names one.
      studyInstanceUid: ctx.metadata.studyInstanceUid ?? uidFromUuid(ctx.uploadId),
      description: ctx.metadata.studyDescription ?? null,
      studyDate: normaliseDate(new Date().toISOString().slice(0, 10)),
      createdBy: ctx.userId,
    },
    series: {
      seriesInstanceUid: uidFromName('nifti-series', ctx.uploadId, name ?? '', stored.sha256),
      modality: ctx.metadata.modality ?? 'OT',
      description: name ?? text(header.description),
    },
    instance: {
      sopInstanceUid: (sopInstanceUid = uidFromName('nifti-instance', ctx.uploadId, name ?? '', stored.sha256)),
      format: 'nifti',
      storageKey: stored.key,
      sizeBytes: stored.size,
      sha256: stored.sha256,
      columns: header.dims[0] ?? null,
      rows: header.dims[1] ?? null,
      frames: Math.max(1, (header.dims[2] ?? 1) * (header.dims[3] ?? 1)),
      metadata: jsonSafe({ nifti: header, gzip: inspection.gzip, inflatedBytes: inspection.inflatedBytes }) as Record<string, unknown>,
      uploadId: ctx.uploadId,
    },
  }));
  return { ...registered, name, format: 'nifti', sopInstanceUid };
}

/** Ingests one file that is not an archive. */
async function ingestSingle(file: string, ctx: IngestContext, name: string | null, insideArchive: boolean): Promise<IngestedItem> {
  const { size } = await stat(file);
  if (size === 0) throw new ApiError(422, 'empty_file', 'The file is empty');
  const head = await readFileHead(file, SNIFF_BYTES);
  const format = recogniseFormat(head);
  switch (format) {
    case 'dicom':
      return ingestDicom(file, size, true, ctx, name);
    case 'dicom-no-preamble':
      return ingestDicom(file, size, false, ctx, name);
    case 'nifti':
    case 'gzip':
      return ingestNifti(file, ctx, name);
    case 'zip':
      if (insideArchive) throw new ApiError(415, 'unsupported_format', 'Archives inside archives are not unpacked');
      break;
  }
  throw new ApiError(415, 'unsupported_format', 'Not a DICOM, NIfTI (.nii, .nii.gz) or zip file');
}

/**
 * Recognises a finished upload by content and files everything it holds. A single file is all or
 * nothing (an ApiError with a 4xx says why); an archive is checked whole first, then each image
 * in it is stored, and entries that are not images are reported as skipped.
 */
export async function ingestFile(file: string, ctx: IngestContext): Promise<IngestResult> {
  const { size } = await stat(file);
  if (size === 0) throw new ApiError(422, 'empty_file', 'The file is empty');
  const head = await readFileHead(file, SNIFF_BYTES);
  if (recogniseFormat(head) !== 'zip') {
    return { items: [await ingestSingle(file, ctx, ctx.name, false)], skipped: [] };
  }

  const { upload } = getEnv();
  const { entries, skipped } = await extractArchive(file, {
    maxEntryBytes: upload.maxBytes,
    maxTotalBytes: upload.maxInflatedBytes,
    maxEntries: upload.maxArchiveEntries,
  });
  const items: IngestedItem[] = [];
  try {
    for (const entry of entries) {
      try {
        items.push(await ingestSingle(entry.file, ctx, entry.name, true));
      } catch (error) {
        if (!(error instanceof ApiError) || error.status >= 500) throw error;
        skipped.push({ name: entry.name, code: error.code, message: printableText(error.message) });
      } finally {
        await rm(entry.file, { force: true });
      }
    }
  } finally {
    await Promise.all(entries.map((e) => rm(e.file, { force: true })));
  }
  if (items.length === 0) {
    throw new ApiError(422, 'no_images', 'The archive holds no DICOM or NIfTI file that could be read', {}, { skipped: skipped.slice(0, 100) });
  }
  return { items, skipped };
}
