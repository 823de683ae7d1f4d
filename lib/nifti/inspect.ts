import { Readable, pipeline } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { NiftiParseError } from './errors';
import { NIFTI2_HEADER_SIZE, type NiftiHeader, couldBeNiftiPrefix, niftiHeaderLength, parseNiftiHeader } from './header';

export interface InspectOptions {
  /**
   * Refuse files whose uncompressed size exceeds this many bytes. Applies to plain .nii too,
   * since its stored bytes are its uncompressed bytes.
   */
  maxInflatedBytes: number;
  /** Refuse headers declaring more voxels than this (default 2^31). */
  maxVoxels?: number;
  /**
   * Most bytes accepted after the image the header declares (default 1 MiB). Reading stops as
   * soon as they are exceeded, so a small header in front of gigabytes of compressed zeros costs
   * what the header declares, not what the limit allows.
   */
  maxTrailingBytes?: number;
}

const DEFAULT_MAX_TRAILING_BYTES = 1024 * 1024;

export interface NiftiInspection {
  header: NiftiHeader;
  gzip: boolean;
  /** Bytes read from the source (the file as uploaded). */
  storedBytes: number;
  /** Bytes after inflating (equal to storedBytes when not gzip-compressed). */
  inflatedBytes: number;
}

/** Marks errors raised by the caller's source, so they are not mistaken for bad data. */
class SourceFailure extends Error {
  constructor(readonly error: unknown) {
    super('source failed');
  }
}

async function* counted(source: AsyncIterable<Uint8Array>, counter: { bytes: number }): AsyncGenerator<Uint8Array> {
  try {
    for await (const chunk of source) {
      // A stream opened with an encoding yields strings, whose length is not a byte count.
      if (!(chunk instanceof Uint8Array)) throw new TypeError('inspectNifti needs a stream of bytes (Uint8Array/Buffer chunks).');
      counter.bytes += chunk.byteLength;
      yield chunk;
    }
  } catch (error) {
    throw new SourceFailure(error);
  }
}

/** Reads up to the first two bytes, then replays them ahead of the rest of the stream. */
async function peek(source: AsyncIterable<Uint8Array>): Promise<{ head: Uint8Array; stream: AsyncIterable<Uint8Array> }> {
  const iterator = source[Symbol.asyncIterator]();
  const buffered: Uint8Array[] = [];
  let length = 0;
  let done = false;
  while (length < 2) {
    const next = await iterator.next();
    if (next.done) {
      done = true;
      break;
    }
    buffered.push(next.value);
    length += next.value.byteLength;
  }
  const head = new Uint8Array(Math.min(length, 2));
  let filled = 0;
  for (const chunk of buffered) {
    if (filled >= head.length) break;
    const part = chunk.subarray(0, head.length - filled);
    head.set(part, filled);
    filled += part.length;
  }
  async function* replay(): AsyncGenerator<Uint8Array> {
    try {
      yield* buffered;
      while (!done) {
        const next = await iterator.next();
        if (next.done) return;
        yield next.value;
      }
    } finally {
      // Closing the caller's stream (fs.ReadStream) when we stop early, e.g. on a bomb.
      await iterator.return?.();
    }
  }
  return { head, stream: replay() };
}

function zlibError(error: unknown): NiftiParseError | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'string' || !code.startsWith('Z_')) return undefined;
  if (code === 'Z_BUF_ERROR') {
    return new NiftiParseError('truncated', 'The gzip stream ends before its end marker: the file is truncated.', { cause: error });
  }
  return new NiftiParseError('corrupt_gzip', `The gzip stream is corrupt (${(error as Error).message}).`, { cause: error });
}

/**
 * Inflates on the fly. Iterating the Gunzip stream keeps zlib's readable-side backpressure
 * (at most ~16 KiB of output buffered), so a consumer that stops after N bytes bounds both
 * memory and work, however compressible the input.
 */
async function* gunzip(input: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  const inflater = createGunzip();
  // Errors surface through the iteration below, so the pipeline's own error is ignored. Waiting
  // for it on the way out means the caller's stream is closed by the time inspectNifti settles.
  const closed = new Promise<void>((resolve) => {
    pipeline(Readable.from(input, { objectMode: false }), inflater, () => resolve());
  });
  try {
    for await (const chunk of inflater) yield chunk as Uint8Array;
  } catch (error) {
    throw zlibError(error) ?? error;
  } finally {
    inflater.destroy();
    await closed;
  }
}

function checkOptions(options: InspectOptions): void {
  if (!(options.maxInflatedBytes >= 0)) {
    throw new RangeError(`maxInflatedBytes must be a non-negative number, got ${options.maxInflatedBytes}.`);
  }
}

/**
 * Receives the inflated bytes while `scanNifti` validates them: `header` once it is parsed
 * (before the chunk that completed it is passed to `data`), then every chunk, in order.
 * Only for readers inside lib/nifti (`readNiftiBytes`); the chunks may be reused afterwards.
 */
export interface NiftiScanSink {
  header(header: NiftiHeader): void;
  data(chunk: Uint8Array): void;
}

/**
 * Recognises, validates and measures a NIfTI file (.nii or .nii.gz) from a stream of its raw
 * bytes without buffering it: only the header prefix is kept. Resolves when the whole stream
 * has been read and holds at least voxOffset + data size bytes (after inflating).
 *
 * Bad data rejects with NiftiParseError; errors thrown by `source` itself (I/O) are passed
 * through unchanged so callers can tell a broken upload from a broken disk.
 */
export async function inspectNifti(source: AsyncIterable<Uint8Array>, options: InspectOptions): Promise<NiftiInspection> {
  return scanNifti(source, options);
}

/** inspectNifti, also handing the inflated bytes to `sink` (which inspectNifti never keeps). */
export async function scanNifti(
  source: AsyncIterable<Uint8Array>,
  options: InspectOptions,
  sink?: NiftiScanSink,
): Promise<NiftiInspection> {
  checkOptions(options);
  const { maxInflatedBytes, maxVoxels } = options;
  const maxTrailingBytes = options.maxTrailingBytes ?? DEFAULT_MAX_TRAILING_BYTES;
  let ceiling = Number.POSITIVE_INFINITY;
  const stored = { bytes: 0 };
  const prefix = new Uint8Array(NIFTI2_HEADER_SIZE);
  let prefixLength = 0;
  let header: NiftiHeader | undefined;
  let inflatedBytes = 0;
  let gzip = false;

  try {
    const { head, stream } = await peek(counted(source, stored));
    gzip = head.length === 2 && head[0] === 0x1f && head[1] === 0x8b;
    const chunks = gzip ? gunzip(stream) : stream;
    for await (const chunk of chunks) {
      inflatedBytes += chunk.byteLength;
      if (inflatedBytes > maxInflatedBytes) {
        throw new NiftiParseError(
          'inflate_limit',
          `The ${gzip ? 'inflated ' : ''}file exceeds the limit of ${maxInflatedBytes} bytes.`,
        );
      }
      if (header && inflatedBytes > ceiling) {
        throw new NiftiParseError(
          'trailing_data',
          `The ${gzip ? 'inflated ' : ''}file goes on for more than ${maxTrailingBytes} bytes past the ${header.minFileBytes} bytes its header declares.`,
        );
      }
      if (header) {
        sink?.data(chunk);
        continue;
      }

      const part = chunk.subarray(0, prefix.length - prefixLength);
      prefix.set(part, prefixLength);
      prefixLength += part.length;
      const available = prefix.subarray(0, prefixLength);
      // Fail on the first chunk of a non-NIfTI file instead of reading (or inflating) it all.
      if (!couldBeNiftiPrefix(available)) {
        parseNiftiHeader(available, { maxVoxels }); // throws the precise reason
        throw new NiftiParseError('not_nifti', 'Not a NIfTI file.');
      }
      const needed = niftiHeaderLength(available);
      if (needed === undefined || prefixLength < needed) {
        sink?.data(chunk);
        continue;
      }

      header = parseNiftiHeader(available.subarray(0, needed), { maxVoxels });
      if (!header.singleFile) {
        throw new NiftiParseError(
          'detached_header',
          `This is a header-only NIfTI file (magic '${header.magic}'): its voxels are in a separate .img file. Upload a single-file .nii or .nii.gz.`,
        );
      }
      if (header.minFileBytes > maxInflatedBytes) {
        throw new NiftiParseError(
          'inflate_limit',
          `The image needs ${header.minFileBytes} bytes uncompressed, more than the limit of ${maxInflatedBytes}.`,
        );
      }
      ceiling = header.minFileBytes + maxTrailingBytes;
      if (inflatedBytes > ceiling) {
        throw new NiftiParseError('trailing_data', `The file goes on for more than ${maxTrailingBytes} bytes past the ${header.minFileBytes} bytes its header declares.`);
      }
      sink?.header(header);
      sink?.data(chunk);
    }
  } catch (error) {
    if (error instanceof SourceFailure) throw error.error;
    throw error;
  }

  if (stored.bytes === 0) throw new NiftiParseError('empty_file', 'The file is empty.');
  if (!header) {
    if (inflatedBytes === 0) throw new NiftiParseError('empty_file', 'The gzip stream contains no data.');
    // Throws the precise reason (truncated header or not NIfTI at all).
    parseNiftiHeader(prefix.subarray(0, prefixLength), { maxVoxels });
    throw new NiftiParseError('truncated', 'The file ends inside the NIfTI header.');
  }
  if (inflatedBytes < header.minFileBytes) {
    throw new NiftiParseError(
      'truncated',
      `The file holds ${inflatedBytes} bytes${gzip ? ' after inflating' : ''} but the header needs ${header.minFileBytes} (vox_offset ${header.voxOffset} + ${header.dataBytes} bytes of voxel data).`,
    );
  }
  return { header, gzip, storedBytes: stored.bytes, inflatedBytes };
}
