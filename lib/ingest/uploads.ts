import { rm } from 'node:fs/promises';
import { getDb } from '@/db';
import { findUpload, insertUpload, updateUpload } from '@/db/queries/uploads';
import type { Upload } from '@/db/schema';
import { ApiError, isTransientFailure, notFound, type ApiErrorCode } from '@/lib/api/errors';
import type { Principal } from '@/lib/api/route';
import { auditPatientAccess, recordAudit, type Actor } from '@/lib/audit';
import { hashFile } from '@/lib/storage';
import { ingestFile, type IngestResult } from './ingest';
import { displayName, parseUploadMetadata, printableText, type UploadMetadata } from './metadata';

/** Roles that may send images in; viewers only look. */
export const UPLOAD_ROLES = ['admin', 'radiologist', 'clinician'] as const;

export function ownsUpload(principal: Principal, upload: Pick<Upload, 'userId' | 'tokenId'>): boolean {
  return principal.kind === 'user' ? upload.userId === principal.id : upload.tokenId === principal.tokenId;
}

export async function createUploadRecord(
  id: string,
  principal: Principal,
  actor: Actor,
  rawMetadata: Record<string, string | null | undefined> | undefined,
  declaredSize: number | undefined,
  /** `audit: false` when the request creating it is audited as a whole (a STOW-RS part). */
  options: { audit?: boolean } = {},
): Promise<UploadMetadata> {
  const audit = options.audit ?? true;
  const db = await getDb();
  let metadata: UploadMetadata;
  try {
    metadata = parseUploadMetadata(rawMetadata);
  } catch (error) {
    if (audit) await recordAudit(actor, { action: 'upload.create', outcome: 'failure', resourceType: 'upload', resourceId: id, details: { reason: 'invalid_metadata' } }, db);
    throw error;
  }
  await insertUpload(db, {
    id,
    userId: principal.kind === 'user' ? principal.id : null,
    tokenId: principal.tokenId,
    filename: displayName(metadata.relativePath ?? metadata.filename),
    declaredSize: declaredSize ?? null,
    metadata,
  });
  if (audit) await recordAudit(actor, { action: 'upload.create', outcome: 'success', resourceType: 'upload', resourceId: id, details: { declaredSize } }, db);
  return metadata;
}

export interface UploadSummary {
  id: string;
  status: Upload['status'];
  filename: string | null;
  size: number | null;
  receivedBytes: number;
  sha256: string | null;
  studyId: string | null;
  error: { code: string; message: string } | null;
  result: Record<string, unknown> | null;
  createdAt: string;
  updatedAt: string;
}

export function summariseUpload(upload: Upload, receivedBytes = upload.receivedBytes): UploadSummary {
  return {
    id: upload.id,
    status: upload.status,
    filename: upload.filename,
    size: upload.declaredSize,
    receivedBytes,
    sha256: upload.sha256,
    studyId: upload.studyId,
    error: upload.errorCode ? { code: upload.errorCode, message: upload.errorMessage ?? '' } : null,
    result: upload.result ?? null,
    createdAt: upload.createdAt.toISOString(),
    updatedAt: upload.updatedAt.toISOString(),
  };
}

function resultSummary(result: IngestResult) {
  const studyIds = [...new Set(result.items.map((i) => i.studyId))];
  return {
    instances: result.items.filter((i) => !i.duplicate).length,
    duplicates: result.items.filter((i) => i.duplicate).length,
    studyIds,
    items: result.items.slice(0, 1000).map((i) => ({
      name: i.name,
      format: i.format,
      studyId: i.studyId,
      seriesId: i.seriesId,
      instanceId: i.instanceId,
      duplicate: i.duplicate,
    })),
    skipped: result.skipped.slice(0, 1000),
  };
}

/**
 * Called once the last byte has arrived (holding the upload's write lock): verifies the
 * whole-file sha256 the client declared, then ingests. The tus copy is removed once the outcome
 * is final (ingested, or refused for what the file is); a transient failure (database down, disk
 * full) keeps it and leaves the upload `processing`, so the same final PATCH, or the reconcile
 * sweep, ingests it later without the client sending a byte again.
 */
export async function finishUpload(id: string, file: string, actor: Actor, options: { action?: string } = {}): Promise<UploadSummary> {
  // One row per ingest, named by the request that delivered the file (upload.ingest, dicomweb.store).
  const action = options.action ?? 'upload.ingest';
  const db = await getDb();
  const upload = await findUpload(db, id);
  if (!upload) throw notFound('No such upload');
  let final = false;
  try {
    await updateUpload(db, id, { status: 'processing' });
    const { sha256, size } = await hashFile(file);
    await updateUpload(db, id, { sha256, receivedBytes: size });
    const declared = (upload.metadata as UploadMetadata).sha256;
    if (declared && declared !== sha256) {
      throw new ApiError(422, 'checksum_mismatch', 'The file that arrived does not match the sha256 the client declared; upload it again', {}, { expected: declared, received: sha256 });
    }
    const result = await ingestFile(file, {
      uploadId: id,
      userId: upload.userId,
      metadata: upload.metadata as UploadMetadata,
      name: upload.filename,
    });
    const summary = resultSummary(result);
    const first = result.items[0];
    // Processing request and audit row before `ready`: if the database goes away in between, the
    // upload stays `processing` and is ingested again (idempotently) rather than left without
    // its job or its audit row.
    // Decoding and rendering checks run as durable jobs, not inside the upload request.
    const { requestProcessing } = await import('@/lib/imaging/processing');
    for (const studyId of summary.studyIds) await requestProcessing(studyId, upload.userId);
    await recordAudit(actor, {
      action,
      outcome: 'success',
      resourceType: 'upload',
      resourceId: id,
      patientId: first?.patientId,
      studyId: first?.studyId,
      details: { instances: summary.instances, duplicates: summary.duplicates, skipped: summary.skipped.length, studies: summary.studyIds.length, sha256 },
    }, db);
    await updateUpload(db, id, { status: 'ready', studyId: first?.studyId ?? null, result: summary });
    final = true;
    return summariseUpload((await findUpload(db, id))!);
  } catch (error) {
    if (!(error instanceof ApiError)) {
      // A fault of the platform: the client is told 5xx, the trail records a major failure.
      await recordAudit(actor, { action, outcome: 'failure', outcomeIndicator: 12, resourceType: 'upload', resourceId: id, details: { reason: 'internal' } }, db).catch(
        (auditError) => console.error('[audit] could not record failed ingest', auditError),
      );
    }
    if (error instanceof ApiError && !isTransientFailure(error)) {
      final = true;
      // Parser messages quote what the file held (entry names, tag values): keep them storable.
      const message = printableText(error.message);
      await updateUpload(db, id, { status: 'failed', errorCode: error.code, errorMessage: message });
      await recordAudit(actor, {
        action,
        outcome: 'failure',
        resourceType: 'upload',
        resourceId: id,
        details: { code: error.code, message, ...(error.details && typeof error.details === 'object' && 'reason' in error.details ? { reason: (error.details as { reason: unknown }).reason } : {}) },
      }, db);
    }
    throw error;
  } finally {
    if (final) {
      await rm(file, { force: true });
      await rm(`${file}.json`, { force: true });
    }
  }
}

const FAILURE_STATUS: Partial<Record<string, number>> = { payload_too_large: 413, unsupported_format: 415, unsupported_media_type: 415 };

/** What a refused upload answers when its final PATCH is repeated: the refusal, again. */
export function failedUploadStatus(upload: Upload): { status: number; code: ApiErrorCode; message: string } {
  const code = (upload.errorCode ?? 'upload_incomplete') as ApiErrorCode;
  return { status: FAILURE_STATUS[code] ?? 422, code, message: upload.errorMessage ?? 'This upload was refused' };
}

/** The status of one upload, for its owner (or an admin); anyone else is told it does not exist. */
export async function getUploadStatus(principal: Principal, actor: Actor, id: string, receivedBytes: (id: string) => Promise<number | null>): Promise<UploadSummary> {
  // The status names the file and the study it became: a read of patient data, audited (upload.read).
  const upload = await auditPatientAccess(
    actor,
    { action: 'upload.read', resourceType: 'upload', resourceId: id, describe: (u) => ({ studyId: u.studyId }) },
    async () => {
      const found = await findUpload(await getDb(), id);
      return found && (ownsUpload(principal, found) || principal.role === 'admin') ? found : null;
    },
  );
  if (!upload) throw notFound('No such upload');
  const received = upload.status === 'receiving' ? ((await receivedBytes(id)) ?? upload.receivedBytes) : upload.receivedBytes;
  return summariseUpload(upload, received);
}
