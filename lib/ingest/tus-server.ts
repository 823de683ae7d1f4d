import { AsyncLocalStorage } from 'node:async_hooks';
import { createHash, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { FileStore } from '@tus/file-store';
import { Server } from '@tus/server';
import type { Lock, Locker, Upload as TusUpload } from '@tus/utils';
import { z } from 'zod';
import { getDb } from '@/db';
import { findUpload } from '@/db/queries/uploads';
import type { Upload } from '@/db/schema';
import { ApiError, conflict, errorResponse, forbidden, isTransientFailure, notFound, toErrorResponse, transientError, type ApiErrorCode } from '@/lib/api/errors';
import { actorOf, authenticateRequest, type Principal } from '@/lib/api/route';
import { tokenHasScope } from '@/lib/auth/scopes';
import { recordAudit, type Actor } from '@/lib/audit';
import { getEnv } from '@/lib/env';
import { fsyncPath, uploadsDir } from '@/lib/storage';
import { withUploadLock } from './upload-lock';
import { createUploadRecord, failedUploadStatus, finishUpload, ownsUpload, summariseUpload, UPLOAD_ROLES } from './uploads';

export const UPLOAD_PATH = '/api/upload';
const MAX_CHECKSUMMED_CHUNK = 256 * 1024 * 1024;

/**
 * @tus/file-store writes without fsync; a crash could then lose bytes the client saw
 * acknowledged, and a HEAD after it would answer an offset lower than the last 204. Every write
 * is made durable before tus answers, and so is a new upload's file, its info file and their
 * directory entries.
 */
class DurableFileStore extends FileStore {
  constructor(options: ConstructorParameters<typeof FileStore>[0]) {
    super(options);
    // Chunk checksums are verified in front of the store (verifyChunkChecksum).
    this.extensions = [...this.extensions, 'checksum'];
  }

  override async create(upload: TusUpload): Promise<TusUpload> {
    const created = await super.create(upload);
    const file = path.join(this.directory, upload.id);
    await fsyncPath(file, 'r+');
    if (existsSync(`${file}.json`)) await fsyncPath(`${file}.json`, 'r+');
    await fsyncPath(this.directory);
    return created;
  }

  override async write(readable: Readable, id: string, offset: number): Promise<number> {
    const written = await super.write(readable as never, id, offset);
    await fsyncPath(path.join(this.directory, id), 'r+');
    return written;
  }
}

/**
 * Writers are serialised by withUploadLock (one PATCH or DELETE per upload, across processes,
 * held through ingest). tus's default MemoryLocker would instead cancel a running PATCH whenever
 * a HEAD or a second PATCH arrives, and it releases before onUploadFinish, so a repeated final
 * PATCH could ingest the same file twice.
 */
const externalLocker: Locker = {
  newLock(): Lock {
    return { lock: async () => {}, unlock: async () => {} };
  },
};

interface RequestContext {
  principal: Principal;
  actor: Actor;
}

const requestContext = new AsyncLocalStorage<RequestContext>();

function currentContext(): RequestContext {
  const ctx = requestContext.getStore();
  if (!ctx) throw new Error('tus hook ran outside an authenticated request');
  return ctx;
}

/** tus hooks signal failures by throwing `{ status_code, body }`; keep the API's error shape in the body. */
function tusError(error: ApiError) {
  return { status_code: error.status, body: JSON.stringify({ error: { code: error.code, message: error.message, ...(error.details ? { details: error.details } : {}) } }) };
}

const STATUS_CODES: Record<number, ApiErrorCode> = {
  400: 'bad_request',
  403: 'forbidden',
  404: 'not_found',
  409: 'conflict',
  410: 'not_found',
  423: 'locked',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  460: 'checksum_mismatch',
};

function createServer(): Server {
  const env = getEnv();
  const datastore = new DurableFileStore({ directory: uploadsDir(), expirationPeriodInMilliseconds: env.upload.expirationMs });
  return new Server({
    path: UPLOAD_PATH,
    datastore,
    locker: externalLocker,
    maxSize: env.upload.maxBytes,
    relativeLocation: true,
    // Ids name files on disk: always ours, never the client's.
    namingFunction: () => randomUUID(),
    async onUploadCreate(_req, upload) {
      const { principal, actor } = currentContext();
      try {
        await createUploadRecord(upload.id, principal, actor, upload.metadata, upload.size);
      } catch (error) {
        if (error instanceof z.ZodError) {
          const first = error.issues[0];
          throw tusError(new ApiError(400, 'validation_error', `Invalid upload metadata ${first?.path.join('.') ?? ''}: ${first?.message ?? ''}`.trim()));
        }
        throw error;
      }
      return {};
    },
    async onUploadFinish(_req, upload) {
      const { actor } = currentContext();
      try {
        const summary = await finishUpload(upload.id, path.join(uploadsDir(), upload.id), actor);
        return { status_code: 200, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(summary) };
      } catch (error) {
        if (error instanceof ApiError || isTransientFailure(error)) throw tusError(transientOr(error));
        throw error;
      }
    },
    async onResponseError(req, err) {
      if ('status_code' in err && typeof err.body === 'string') {
        // Ingest refusals were audited where they happened; these are protocol-level refusals.
        if (err.body.startsWith('{"error"')) return err;
        const code = STATUS_CODES[err.status_code] ?? (err.status_code >= 500 ? 'internal_error' : 'bad_request');
        const message = err.body.trim() || 'Upload request refused';
        const ctx = requestContext.getStore();
        if (ctx && err.status_code < 500) {
          await recordAudit(ctx.actor, {
            action: 'upload.refused',
            outcome: 'failure',
            resourceType: 'upload',
            resourceId: uploadIdFromUrl(req.url),
            details: { method: req.method, status: err.status_code, code, message },
          });
        }
        return { status_code: err.status_code, body: JSON.stringify({ error: { code, message } }) };
      }
      if (isTransientFailure(err)) {
        const mapped = transientError(err);
        return { status_code: mapped.status, body: JSON.stringify({ error: { code: mapped.code, message: mapped.message } }) };
      }
      console.error('[upload] unexpected error', err);
      return { status_code: 500, body: JSON.stringify({ error: { code: 'internal_error', message: 'Internal server error' } }) };
    },
  });
}

const globalForTus = globalThis as typeof globalThis & { __imagingTus?: Server };

export function getTusServer(): Server {
  globalForTus.__imagingTus ??= createServer();
  return globalForTus.__imagingTus;
}

/** Tests simulate a server restart by dropping the instance; state lives on disk and in the database. */
export function resetTusServerForTests(): void {
  globalForTus.__imagingTus = undefined;
}

function uploadIdFromUrl(url: string): string | null {
  const { pathname } = new URL(url);
  const rest = pathname.slice(UPLOAD_PATH.length).replace(/^\/+/, '');
  return rest ? decodeURIComponent(rest) : null;
}

/** tus checksum extension: `Upload-Checksum: <sha1|sha256> <base64>` over this PATCH's body. */
async function verifyChunkChecksum(req: Request): Promise<Request> {
  const header = req.headers.get('upload-checksum');
  if (!header) return req;
  const match = /^(\S+) ([A-Za-z0-9+/=]+)$/.exec(header.trim());
  if (!match) throw new ApiError(400, 'bad_request', 'Malformed Upload-Checksum header');
  const algorithm = match[1]!.toLowerCase();
  if (algorithm !== 'sha1' && algorithm !== 'sha256') throw new ApiError(400, 'bad_request', `Unsupported checksum algorithm ${algorithm}; use sha1 or sha256`);
  const length = Number(req.headers.get('content-length') ?? NaN);
  if (!Number.isFinite(length) || length > MAX_CHECKSUMMED_CHUNK) {
    throw new ApiError(413, 'payload_too_large', `Checksummed chunks must declare Content-Length and stay under ${MAX_CHECKSUMMED_CHUNK} bytes`);
  }
  // The digest is only known at the end of the body, so the chunk is held until it is proven.
  const body = Buffer.from(await req.arrayBuffer());
  const digest = createHash(algorithm).update(body).digest('base64');
  if (digest !== match[2]) throw new ApiError(460, 'checksum_mismatch', 'Checksum mismatch: the chunk was not stored; send it again');
  return new Request(req.url, { method: req.method, headers: req.headers, body });
}

const transientOr = (error: unknown): ApiError => (error instanceof ApiError ? error : transientError(error));

const RETRY_AFTER: Record<number, string> = { 423: '2', 503: '5', 507: '30' };

function withHeaders(res: Response, method: string): Response {
  const headers = new Headers(res.headers);
  if (res.status >= 400 && !headers.get('content-type')) headers.set('Content-Type', 'application/json');
  if (RETRY_AFTER[res.status] && !headers.get('retry-after')) headers.set('Retry-After', RETRY_AFTER[res.status]!);
  if (method === 'OPTIONS') headers.set('Tus-Checksum-Algorithm', 'sha1,sha256');
  return new Response(res.body, { status: res.status, statusText: res.statusText, headers });
}

/**
 * Every tus request: authenticate (session cookie or bearer token; /api/upload is outside the
 * proxy), authorise, confine the caller to their own uploads, then hand over to @tus/server.
 */
export async function handleTusRequest(req: Request): Promise<Response> {
  try {
    if (req.method === 'OPTIONS') return withHeaders(await getTusServer().handleWeb(req), 'OPTIONS');
    const principal = await authenticateRequest(req, 'upload.create');
    const actor = actorOf(principal, req);
    if (!(UPLOAD_ROLES as readonly string[]).includes(principal.role)) {
      await recordAudit(actor, { action: 'upload.create', outcome: 'denied', details: { reason: 'role', method: req.method } });
      throw forbidden('Your role may not upload images');
    }
    if (principal.kind === 'token' && !tokenHasScope(principal.scopes, 'studies:write')) {
      await recordAudit(actor, { action: 'upload.create', outcome: 'denied', details: { reason: 'scope', required: 'studies:write', method: req.method } });
      throw forbidden('This API token lacks the "studies:write" scope');
    }
    const id = uploadIdFromUrl(req.url);
    let upload: Upload | undefined;
    if (id !== null) {
      if (!z.string().uuid().safeParse(id).success) throw notFound('No such upload');
      upload = await findUpload(await getDb(), id);
      if (!upload || !ownsUpload(principal, upload)) {
        await recordAudit(actor, { action: 'upload.access', outcome: 'denied', resourceType: 'upload', resourceId: id, details: { method: req.method } });
        throw notFound('No such upload');
      }
    } else if (req.method !== 'POST') {
      throw notFound('No such upload');
    }
    const run = async (): Promise<Response> => {
      const checked = req.method === 'PATCH' ? await verifyChunkChecksum(req) : req;
      return withHeaders(await requestContext.run({ principal, actor }, () => getTusServer().handleWeb(checked)), req.method);
    };
    if (id === null || !upload) return await run();
    const early = await answerFinished(req, upload);
    if (early) return early;
    if (req.method !== 'PATCH' && req.method !== 'DELETE') return await run();
    return await withUploadLock(id, async () => {
      // Another writer may have finished the upload while this request waited for the lock.
      const current = await findUpload(await getDb(), id);
      if (!current) throw notFound('No such upload');
      return (await answerFinished(req, current)) ?? (await run());
    });
  } catch (error) {
    return withHeaders(toErrorResponse(error), req.method);
  }
}

function uploadLength(upload: Upload): number {
  return upload.declaredSize ?? upload.receivedBytes;
}

/**
 * An upload whose bytes have all arrived (and whose tus file is gone, or which is ingested or
 * refused) is answered here, idempotently: HEAD says Upload-Offset = Upload-Length, so a client
 * resuming after a crash or a lost response sees it complete rather than an offset that went
 * backwards or a 404; the final PATCH repeated answers the same outcome again.
 */
async function answerFinished(req: Request, upload: Upload): Promise<Response | null> {
  if (upload.status === 'receiving') return null;
  const file = path.join(uploadsDir(), upload.id);
  if (upload.status === 'processing' && existsSync(file)) return null; // tus serves it; a final PATCH retries the ingest
  if (upload.status !== 'processing' && existsSync(file)) {
    // Left behind by a crash between registering and cleaning up.
    await rm(file, { force: true });
    await rm(`${file}.json`, { force: true });
  }
  const length = uploadLength(upload);
  const tusHeaders = { 'Tus-Resumable': '1.0.0', 'Cache-Control': 'no-store' };
  if (req.method === 'HEAD') {
    return new Response(null, { status: 200, headers: { ...tusHeaders, 'Upload-Offset': String(length), 'Upload-Length': String(length) } });
  }
  if (req.method === 'PATCH') {
    const offset = Number(req.headers.get('upload-offset'));
    if (offset !== length) {
      return withHeaders(errorResponse(409, 'conflict', `This upload is complete (Upload-Offset ${length})`, { headers: { ...tusHeaders, 'Upload-Offset': String(length) } }), 'PATCH');
    }
    await req.body?.cancel().catch(() => {});
    if (upload.status === 'ready') {
      return Response.json(summariseUpload(upload), { status: 200, headers: { ...tusHeaders, 'Upload-Offset': String(length) } });
    }
    if (upload.status === 'failed') {
      const failed = failedUploadStatus(upload);
      return withHeaders(errorResponse(failed.status, failed.code, failed.message, { headers: tusHeaders }), 'PATCH');
    }
    // processing without its file: recovery marks it failed; the client should upload again.
    return withHeaders(toErrorResponse(new ApiError(422, 'upload_incomplete', 'Processing of this upload was interrupted and its file is gone; upload it again')), 'PATCH');
  }
  if (req.method === 'DELETE') return withHeaders(toErrorResponse(conflict('This upload is complete and cannot be terminated')), 'DELETE');
  return null;
}

/** Bytes received so far for an upload still in progress, from the tus store. */
export async function receivedBytes(id: string): Promise<number | null> {
  try {
    return (await getTusServer().datastore.getUpload(id)).offset;
  } catch {
    return null;
  }
}

/** Deletes expired, unfinished uploads (tus expiration extension). */
export async function cleanUpExpiredUploads(): Promise<number> {
  return getTusServer().cleanUpExpiredUploads();
}

export { errorResponse };
