import { ZodError } from 'zod';
import { reportDatabaseFailure } from '@/db/availability';

export type ApiErrorCode =
  | 'bad_request'
  | 'validation_error'
  | 'invalid_json'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'method_not_allowed'
  | 'not_acceptable'
  | 'conflict'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'too_many_requests'
  | 'not_configured'
  | 'unsupported_format'
  | 'empty_file'
  | 'invalid_dicom'
  | 'invalid_nifti'
  | 'invalid_archive'
  | 'no_images'
  | 'checksum_mismatch'
  | 'upload_incomplete'
  | 'database_unavailable'
  | 'locked'
  | 'insufficient_storage'
  | 'ai_not_configured'
  | 'ai_auth_failed'
  | 'ai_quota_exceeded'
  | 'ai_timeout'
  | 'ai_blocked'
  | 'ai_invalid_output'
  | 'ai_unavailable'
  | 'internal_error';

/** An error whose message is safe to show the caller; anything else becomes a generic 500. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: ApiErrorCode,
    message: string,
    readonly headers: Record<string, string> = {},
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export const badRequest = (message: string) => new ApiError(400, 'bad_request', message);
export const unauthorized = (message = 'Authentication required') => new ApiError(401, 'unauthorized', message);
export const forbidden = (message = 'You do not have permission to do this') => new ApiError(403, 'forbidden', message);
export const notFound = (message = 'Not found') => new ApiError(404, 'not_found', message);
export const conflict = (message: string) => new ApiError(409, 'conflict', message);

export interface ErrorBody {
  error: { code: ApiErrorCode; message: string; details?: unknown };
}

export function errorResponse(
  status: number,
  code: ApiErrorCode,
  message: string,
  options: { headers?: Record<string, string>; details?: unknown } = {},
): Response {
  const body: ErrorBody = { error: { code, message, ...(options.details === undefined ? {} : { details: options.details }) } };
  return Response.json(body, { status, headers: { 'Cache-Control': 'no-store', ...options.headers } });
}

const CONNECTION_ERROR_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'CONNECT_TIMEOUT', 'CONNECTION_CLOSED', 'CONNECTION_ENDED', 'CONNECTION_DESTROYED', '57P01', '57P03', '53300']);

/** True for errors meaning "the database cannot be reached", which are a 503, not a bug. */
export function isDatabaseUnavailable(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; current && depth < 5; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && CONNECTION_ERROR_CODES.has(code)) return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

const STORAGE_FULL_CODES = new Set(['ENOSPC', 'EDQUOT']);

/** True when the disk (or quota) is full: a 507 the client can resume after, not a bug. */
export function isStorageFull(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; current && depth < 5; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && STORAGE_FULL_CODES.has(code)) return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

export const databaseUnavailable = () =>
  new ApiError(503, 'database_unavailable', 'The database is unavailable; try again shortly', { 'Retry-After': '5' });

export const insufficientStorage = () =>
  new ApiError(507, 'insufficient_storage', 'The server has no room left to store this; try again later (an upload resumes where it stopped)', { 'Retry-After': '30' });

/** Failures that say nothing about the request: the same request may succeed later. */
export function isTransientFailure(error: unknown): boolean {
  if (error instanceof ApiError) return error.status === 503 || error.status === 507 || error.status === 423;
  return isDatabaseUnavailable(error) || isStorageFull(error);
}

/** The ApiError a transient failure is answered with. */
export function transientError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  return isStorageFull(error) ? insufficientStorage() : databaseUnavailable();
}

/** Maps any thrown value to the one error shape; unexpected errors are logged, not leaked. */
export function toErrorResponse(error: unknown): Response {
  if (error instanceof ApiError) {
    return errorResponse(error.status, error.code, error.message, { headers: error.headers, details: error.details });
  }
  if (error instanceof ZodError) {
    const details = error.issues.map((issue) => ({ path: issue.path.join('.'), message: issue.message }));
    const first = details[0];
    const message = first ? `Invalid ${first.path || 'input'}: ${first.message}` : 'Invalid input';
    return errorResponse(400, 'validation_error', message, { details });
  }
  if (isDatabaseUnavailable(error) || isStorageFull(error)) {
    if (isDatabaseUnavailable(error)) reportDatabaseFailure();
    const mapped = transientError(error);
    return errorResponse(mapped.status, mapped.code, mapped.message, { headers: mapped.headers });
  }
  console.error('[api] unexpected error', error);
  return errorResponse(500, 'internal_error', 'Internal server error');
}
