/**
 * STOW-RS (PS3.18 10.5): multipart/related; type="application/dicom" bodies, streamed to disk part
 * by part, each part then ingested by the same pipeline as an upload (lib/ingest finishUpload:
 * validation, storage, catalogue, audit, processing job).
 */
import { randomUUID } from 'node:crypto';
import { mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { ApiError } from '@/lib/api/errors';
import type { Principal } from '@/lib/api/route';
import { recordAudit, type Actor } from '@/lib/audit';
import { readDicomMetadata } from '@/lib/dicom';
import { getEnv } from '@/lib/env';
import { recogniseFormat, SNIFF_BYTES } from '@/lib/ingest/formats';
import { createUploadRecord, finishUpload } from '@/lib/ingest/uploads';
import { scratchDir, uploadsDir } from '@/lib/storage';
import { attribute, type DicomJsonDataset } from './dicom-json';
import { dicomJsonResponse, parseMediaType } from './media';
import { receiveMultipart } from './multipart';
import { retrieveUrl } from './paths';
import { readFileHead } from '@/lib/ingest/file-head';

/** PS3.18 table 10.5.3-? / PS3.4 C-STORE failure reasons used in FailedSOPSequence. */
export const FailureReason = {
  ProcessingFailure: 0x0110,
  OutOfResources: 0xa700,
  /** The instance belongs to another study than the one in the request URL. */
  StudyMismatch: 0xa900,
  CannotUnderstand: 0xc000,
} as const;

interface Outcome {
  sopClassUid: string | null;
  sopInstanceUid: string | null;
  studyInstanceUid: string | null;
  seriesInstanceUid: string | null;
  failure?: number;
  message?: string;
  /** The ingest pipeline wrote this part's audit row. */
  audited?: boolean;
}

const HEADER_BYTES = 16 * 1024 * 1024;

function reasonFor(error: ApiError): number {
  if (error.status === 413) return FailureReason.OutOfResources;
  if (error.status === 415 || error.status === 422 || error.status === 400) return FailureReason.CannotUnderstand;
  return FailureReason.ProcessingFailure;
}

async function storePart(part: { file: string; size: number; headers: Record<string, string> }, index: number, principal: Principal, actor: Actor, expectedStudy: string | undefined): Promise<Outcome> {
  const outcome: Outcome = { sopClassUid: null, sopInstanceUid: null, studyInstanceUid: null, seriesInstanceUid: null };
  const declared = part.headers['content-type'];
  if (declared && parseMediaType(declared).type !== 'application/dicom') {
    await rm(part.file, { force: true });
    return { ...outcome, failure: FailureReason.CannotUnderstand, message: `part ${index + 1} is ${declared}, not application/dicom` };
  }
  const head = part.size > 0 ? await readFileHead(part.file, Math.min(part.size, HEADER_BYTES)) : new Uint8Array();
  const format = recogniseFormat(head.subarray(0, SNIFF_BYTES));
  if (format !== 'dicom' && format !== 'dicom-no-preamble') {
    await rm(part.file, { force: true });
    return { ...outcome, failure: FailureReason.CannotUnderstand, message: `part ${index + 1} is not a DICOM file` };
  }
  try {
    const meta = readDicomMetadata(head, { fileSize: part.size });
    Object.assign(outcome, { sopClassUid: meta.sopClassUid, sopInstanceUid: meta.sopInstanceUid, studyInstanceUid: meta.studyInstanceUid, seriesInstanceUid: meta.seriesInstanceUid });
  } catch {
    // The ingest pipeline below reports why the file cannot be read.
  }
  if (expectedStudy && outcome.studyInstanceUid && outcome.studyInstanceUid !== expectedStudy) {
    await rm(part.file, { force: true });
    return { ...outcome, failure: FailureReason.StudyMismatch, message: `part ${index + 1} belongs to study ${outcome.studyInstanceUid}, not ${expectedStudy}` };
  }
  const uploadId = randomUUID();
  // Where a finished tus upload waits: an ingest cut short by a restart is resumed at start-up.
  const file = path.join(uploadsDir(), uploadId);
  try {
    await mkdir(uploadsDir(), { recursive: true });
    await rename(part.file, file);
    // Each part is one row, `dicomweb.store`, naming its patient and study (written by finishUpload).
    await createUploadRecord(uploadId, principal, actor, { filename: `stow-part-${index + 1}.dcm` }, part.size, { audit: false });
    await finishUpload(uploadId, file, actor, { action: 'dicomweb.store' });
    return { ...outcome, audited: true };
  } catch (error) {
    await rm(file, { force: true });
    if (error instanceof ApiError && error.status < 500) return { ...outcome, failure: reasonFor(error), message: error.message, audited: true };
    console.error('[dicomweb] STOW part failed', error);
    return { ...outcome, failure: FailureReason.ProcessingFailure, message: 'processing failure', audited: true };
  }
}

/**
 * Stores the instances of a STOW-RS request. 200: all stored; 202: some stored, some failed; 409:
 * none stored. The body is the PS3.18 store response (ReferencedSOPSequence, FailedSOPSequence).
 * Malformed requests answer 400/413/415 in the API's error shape.
 */
export async function storeInstances(req: Request, principal: Principal, actor: Actor, options: { base: string; studyInstanceUid?: string }): Promise<Response> {
  try {
    return await storeParts(req, principal, actor, options);
  } catch (error) {
    // Refused as a whole (media type, size, malformed multipart): one row for the request.
    if (error instanceof ApiError) {
      await recordAudit(actor, { action: 'dicomweb.store', outcome: 'failure', resourceType: 'study', resourceId: options.studyInstanceUid ?? null, details: { code: error.code } });
    }
    throw error;
  }
}

async function storeParts(req: Request, principal: Principal, actor: Actor, options: { base: string; studyInstanceUid?: string }): Promise<Response> {
  const contentType = parseMediaType(req.headers.get('content-type') ?? '');
  if (contentType.type !== 'multipart/related') {
    throw new ApiError(415, 'unsupported_media_type', 'Send the instances as multipart/related; type="application/dicom"');
  }
  const type = contentType.params.type?.toLowerCase();
  if (type && type !== 'application/dicom') {
    throw new ApiError(415, 'unsupported_media_type', `Only application/dicom parts are accepted (got type="${type}"); metadata + bulk data stores are not supported`);
  }
  const boundary = contentType.params.boundary;
  if (!boundary) throw new ApiError(400, 'bad_request', 'The Content-Type has no boundary parameter');
  const { upload } = getEnv();
  const declaredLength = Number(req.headers.get('content-length') ?? NaN);
  if (Number.isFinite(declaredLength) && declaredLength > upload.maxInflatedBytes) {
    throw new ApiError(413, 'payload_too_large', `The request is larger than the limit of ${upload.maxInflatedBytes} bytes (UPLOAD_MAX_INFLATED_BYTES)`);
  }
  if (!req.body) throw new ApiError(400, 'bad_request', 'The request has no body');

  const parts = await receiveMultipart(req.body as unknown as AsyncIterable<Uint8Array>, boundary, {
    dir: path.join(scratchDir(), 'stow'),
    maxPartBytes: upload.maxBytes,
    maxTotalBytes: upload.maxInflatedBytes,
    maxParts: upload.maxArchiveEntries,
  });
  if (parts.length === 0) throw new ApiError(400, 'bad_request', 'The request holds no instances');

  const outcomes: Outcome[] = [];
  try {
    for (const [i, part] of parts.entries()) outcomes.push(await storePart(part, i, principal, actor, options.studyInstanceUid));
  } finally {
    await Promise.all(parts.map((p) => rm(p.file, { force: true })));
  }

  const stored = outcomes.filter((o) => o.failure === undefined);
  const failed = outcomes.filter((o) => o.failure !== undefined);
  const studies = new Set(stored.map((o) => o.studyInstanceUid).filter(Boolean));
  const study = options.studyInstanceUid ?? (studies.size === 1 ? [...studies][0]! : null);
  const body: DicomJsonDataset = {};
  if (study) body['00081190'] = attribute('UR', retrieveUrl(options.base, study));
  if (failed.length) {
    body['00081198'] = {
      vr: 'SQ',
      Value: failed.map((o) => ({
        '00081150': attribute('UI', o.sopClassUid),
        '00081155': attribute('UI', o.sopInstanceUid),
        '00081197': attribute('US', o.failure),
      })),
    };
  }
  if (stored.length) {
    body['00081199'] = {
      vr: 'SQ',
      Value: stored.map((o) => ({
        '00081150': attribute('UI', o.sopClassUid),
        '00081155': attribute('UI', o.sopInstanceUid),
        '00081190': attribute('UR', o.studyInstanceUid && o.seriesInstanceUid && o.sopInstanceUid ? retrieveUrl(options.base, o.studyInstanceUid, o.seriesInstanceUid, o.sopInstanceUid) : null),
      })),
    };
  }
  // One row per part: ingested parts have theirs (with patient and study); refused ones get it here.
  for (const o of outcomes.filter((x) => !x.audited)) {
    await recordAudit(actor, {
      action: 'dicomweb.store',
      outcome: 'failure',
      resourceType: 'instance',
      resourceId: o.sopInstanceUid,
      details: { reason: o.failure, message: o.message, studyInstanceUid: o.studyInstanceUid },
    });
  }
  const status = failed.length === 0 ? 200 : stored.length ? 202 : 409;
  return dicomJsonResponse(body, { status });
}
