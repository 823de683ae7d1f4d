/**
 * A streaming multipart/related reader (RFC 2387 / 2046) for STOW-RS: each part goes to its own
 * file as it arrives, so a request of any size is never held in memory, and the limits stop the
 * transfer as soon as they are crossed.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, open, rm, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { ApiError } from '@/lib/api/errors';

export interface ReceivedPart {
  file: string;
  size: number;
  /** Lower-cased header names. */
  headers: Record<string, string>;
}

export interface MultipartLimits {
  dir: string;
  maxPartBytes: number;
  maxTotalBytes: number;
  maxParts: number;
  maxHeaderBytes?: number;
}

type State = 'preamble' | 'after-delimiter' | 'headers' | 'body' | 'done';

const CRLF = Buffer.from('\r\n');
const HEADER_END = Buffer.from('\r\n\r\n');

function malformed(message: string): ApiError {
  return new ApiError(400, 'bad_request', `Malformed multipart body: ${message}`);
}

function parseHeaders(text: string): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const line of text.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0) throw malformed(`bad part header line "${line.slice(0, 80)}"`);
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return headers;
}

/** Reads every part of `body` into files under `limits.dir`; on any failure the files are removed. */
export async function receiveMultipart(body: AsyncIterable<Uint8Array>, boundary: string, limits: MultipartLimits): Promise<ReceivedPart[]> {
  // RFC 2046 allows 70 characters; Orthanc's DICOMweb plugin sends 73, so some slack is kept.
  if (!boundary || boundary.length > 200) throw malformed('the boundary parameter is missing or longer than 200 characters');
  await mkdir(limits.dir, { recursive: true });
  const delimiter = Buffer.from(`--${boundary}`);
  const bodyDelimiter = Buffer.concat([CRLF, delimiter]);
  const maxHeaderBytes = limits.maxHeaderBytes ?? 16 * 1024;
  const parts: ReceivedPart[] = [];
  let state = 'preamble' as State;
  let buffer: Buffer = Buffer.alloc(0);
  let current: { handle: FileHandle; part: ReceivedPart } | null = null;
  let total = 0;

  const write = async (bytes: Buffer) => {
    if (!current || bytes.length === 0) return;
    current.part.size += bytes.length;
    if (current.part.size > limits.maxPartBytes) {
      throw new ApiError(413, 'payload_too_large', `A part is larger than the limit of ${limits.maxPartBytes} bytes (UPLOAD_MAX_BYTES)`);
    }
    await current.handle.write(bytes);
  };

  try {
    for await (const chunk of body) {
      total += chunk.byteLength;
      if (total > limits.maxTotalBytes) throw new ApiError(413, 'payload_too_large', `The request is larger than the limit of ${limits.maxTotalBytes} bytes`);
      buffer = buffer.length ? Buffer.concat([buffer, Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)]) : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      for (let progress = true; progress && state !== 'done'; ) {
        progress = false;
        if (state === 'preamble') {
          const at = buffer.indexOf(delimiter);
          if (at >= 0 && (at === 0 || (at >= 2 && buffer[at - 2] === 0x0d && buffer[at - 1] === 0x0a))) {
            buffer = buffer.subarray(at + delimiter.length);
            state = 'after-delimiter';
            progress = true;
          } else if (buffer.length > 64 * 1024) throw malformed('no boundary delimiter at the start');
        } else if (state === 'after-delimiter') {
          if (buffer.length < 2) break;
          if (buffer[0] === 0x2d && buffer[1] === 0x2d) {
            state = 'done';
            break;
          }
          const eol = buffer.indexOf(CRLF);
          if (eol < 0) {
            if (buffer.length > 1024) throw malformed('the boundary line does not end');
            break;
          }
          if (buffer.subarray(0, eol).toString('latin1').trim() !== '') throw malformed('unexpected text after a boundary');
          buffer = buffer.subarray(eol + 2);
          state = 'headers';
          progress = true;
        } else if (state === 'headers') {
          let headerText: string | null = null;
          if (buffer.length >= 2 && buffer[0] === 0x0d && buffer[1] === 0x0a) {
            headerText = '';
            buffer = buffer.subarray(2);
          } else {
            const end = buffer.indexOf(HEADER_END);
            if (end < 0) {
              if (buffer.length > maxHeaderBytes) throw malformed('part headers are too long');
              break;
            }
            headerText = buffer.subarray(0, end).toString('latin1');
            buffer = buffer.subarray(end + 4);
          }
          if (parts.length >= limits.maxParts) throw new ApiError(413, 'payload_too_large', `More than ${limits.maxParts} parts in one request`);
          const part: ReceivedPart = { file: path.join(limits.dir, `stow-${randomUUID()}`), size: 0, headers: headerText ? parseHeaders(headerText) : {} };
          parts.push(part);
          current = { handle: await open(part.file, 'w'), part };
          state = 'body';
          progress = true;
        } else if (state === 'body') {
          const at = buffer.indexOf(bodyDelimiter);
          if (at >= 0) {
            await write(buffer.subarray(0, at));
            await current!.handle.close();
            current = null;
            buffer = buffer.subarray(at + bodyDelimiter.length);
            state = 'after-delimiter';
            progress = true;
          } else if (buffer.length > bodyDelimiter.length) {
            // Keep a tail that may hold the start of a delimiter split across chunks.
            const keep = bodyDelimiter.length - 1;
            await write(buffer.subarray(0, buffer.length - keep));
            buffer = Buffer.from(buffer.subarray(buffer.length - keep));
          }
        }
      }
      if ((state as State) === 'done') break;
    }
    if ((state as State) !== 'done') throw malformed(state === 'preamble' ? 'no boundary delimiter found' : 'the body ends before the closing boundary');
    return parts;
  } catch (error) {
    await current?.handle.close().catch(() => {});
    await Promise.all(parts.map((p) => rm(p.file, { force: true })));
    throw error;
  }
}
