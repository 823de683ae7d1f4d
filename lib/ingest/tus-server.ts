import { AsyncLocalStorage } from 'node:async_hooks';
import { createHash, randomUUID } from 'node:crypto';
import { open } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { FileStore } from '@tus/file-store';
import { Server } from '@tus/server';
import { z } from 'zod';
import { getDb } from '@/db';
import { findUpload } from '@/db/queries/uploads';
import { ApiError, errorResponse, forbidden, isDatabaseUnavailable, notFound, toErrorResponse, type ApiErrorCode } from '@/lib/api/errors';
import { actorOf, authenticateRequest, type Principal } from '@/lib/api/route';
import { tokenHasScope } from '@/lib/auth/scopes';
import { recordAudit, type Actor } from '@/lib/audit';
import { getEnv } from '@/lib/env';
import { uploadsDir } from '@/lib/storage';
import { createUploadRecord, finishUpload, ownsUpload, UPLOAD_ROLES } from './uploads';

export const UPLOAD_PATH = '/api/upload';
const MAX_CHECKSUMMED_CHUNK = 256 * 1024 * 1024;

/** @tus/file-store writes without fsync; a crash could then lose bytes the client saw acknowledged. */
class DurableFileStore extends FileStore {
  constructor(options: ConstructorParameters<typeof FileStore>[0]) {
    super(options);
    // Chunk checksums are verified in front of the store (verifyChunkChecksum).
    this.extensions = [...this.extensions, 'checksum'];
  }

  override async write(readable: Readable, id: string, offset: number): Promise<number> {
    const written = await super.write(readable as never, id, offset);
    const handle = await open(path.join(this.directory, id), 'r+');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
    return written;
  }
}

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
        if (error instanceof ApiError) throw tusError(error);
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
      if (isDatabaseUnavailable(err)) {
        return { status_code: 503, body: JSON.stringify({ error: { code: 'database_unavailable', message: 'The database is unavailable; resume the upload shortly' } }) };
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

function withHeaders(res: Response, method: string): Response {
  const headers = new Headers(res.headers);
  if (res.status >= 400 && !headers.get('content-type')) headers.set('Content-Type', 'application/json');
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
    if (id !== null) {
      if (!z.string().uuid().safeParse(id).success) throw notFound('No such upload');
      const upload = await findUpload(await getDb(), id);
      if (!upload || !ownsUpload(principal, upload)) {
        await recordAudit(actor, { action: 'upload.access', outcome: 'denied', resourceType: 'upload', resourceId: id, details: { method: req.method } });
        throw notFound('No such upload');
      }
    } else if (req.method !== 'POST') {
      throw notFound('No such upload');
    }
    const checked = req.method === 'PATCH' ? await verifyChunkChecksum(req) : req;
    return withHeaders(await requestContext.run({ principal, actor }, () => getTusServer().handleWeb(checked)), req.method);
  } catch (error) {
    return toErrorResponse(error);
  }
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
