import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream, type ReadStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { getEnv } from '@/lib/env';

/**
 * Local-disk object storage under DATA_DIR. Keys are generated here (UUIDs), never derived from
 * file names, UIDs or ids a client sent, so no client input can steer a path.
 */

const KEY_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function dataDir(): string {
  return getEnv().dataDir;
}

export function uploadsDir(): string {
  return path.join(dataDir(), 'uploads');
}

export function scratchDir(): string {
  return path.join(dataDir(), 'tmp');
}

function objectsDir(): string {
  return path.join(dataDir(), 'objects');
}

/** Markers of objects stored but not yet referenced by the catalogue (see `pending` below). */
export function pendingDir(): string {
  return path.join(objectsDir(), 'pending');
}

/** The directory of every stored object (two-character shards). */
export function objectsRoot(): string {
  return objectsDir();
}

export function isStorageKey(key: string): boolean {
  return KEY_PATTERN.test(key);
}

/** The file path of a stored object; throws on anything that is not a key this module issued. */
export function objectPath(key: string): string {
  if (!isStorageKey(key)) throw new Error('invalid storage key');
  return path.join(objectsDir(), key.slice(0, 2), key);
}

/** Flushes a file (flags 'r+') or a directory's entries ('r') to disk. */
export async function fsyncPath(target: string, flags = 'r'): Promise<void> {
  const handle = await open(target, flags);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export interface StoredObject {
  key: string;
  size: number;
  sha256: string;
}

/**
 * Copies `source` into storage, optionally rewriting its first bytes (used to blank a DICOM
 * preamble), and makes it durable (file and directory fsync) before returning.
 */
export async function storeFile(source: string, options: { zeroPrefix?: number; pending?: boolean } = {}): Promise<StoredObject> {
  const key = randomUUID();
  const target = objectPath(key);
  await mkdir(path.dirname(target), { recursive: true });
  // With `pending`, a marker exists until the caller settles the object (after its database
  // commit): a crash in between leaves an object the reconcile sweep can find and remove.
  if (options.pending) {
    await mkdir(pendingDir(), { recursive: true });
    const marker = await open(path.join(pendingDir(), key), 'wx');
    await marker.sync();
    await marker.close();
  }
  const partial = `${target}.partial`;
  const hash = createHash('sha256');
  let size = 0;
  let remainingZero = options.zeroPrefix ?? 0;
  try {
    await pipeline(
      createReadStream(source),
      async function* (chunks: AsyncIterable<Buffer>) {
        for await (const input of chunks) {
          let chunk = input;
          if (remainingZero > 0) {
            chunk = Buffer.from(chunk);
            const n = Math.min(remainingZero, chunk.length);
            chunk.fill(0, 0, n);
            remainingZero -= n;
          }
          size += chunk.length;
          hash.update(chunk);
          yield chunk;
        }
      },
      createWriteStream(partial, { flags: 'wx' }),
    );
    await fsyncPath(partial, 'r+');
    await rename(partial, target);
    await fsyncPath(path.dirname(target));
  } catch (error) {
    await rm(partial, { force: true });
    if (options.pending) await rm(path.join(pendingDir(), key), { force: true });
    throw error;
  }
  return { key, size, sha256: hash.digest('hex') };
}

/** The catalogue now references (or has refused) a `pending` object: drop its marker. */
export async function settleObject(key: string): Promise<void> {
  if (!isStorageKey(key)) throw new Error('invalid storage key');
  await rm(path.join(pendingDir(), key), { force: true });
}

/** Stores bytes made on the server (e.g. a transcoded copy), durably, under a new key. */
export async function storeBytes(bytes: Uint8Array): Promise<StoredObject> {
  const key = randomUUID();
  const target = objectPath(key);
  await mkdir(path.dirname(target), { recursive: true });
  const partial = `${target}.partial`;
  try {
    const handle = await open(partial, 'wx');
    try {
      await handle.writeFile(bytes);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(partial, target);
    await fsyncPath(path.dirname(target));
  } catch (error) {
    await rm(partial, { force: true });
    throw error;
  }
  return { key, size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };
}

export function readObject(key: string, range?: { start: number; end: number }): ReadStream {
  return createReadStream(objectPath(key), range);
}

export async function objectSize(key: string): Promise<number> {
  return (await stat(objectPath(key))).size;
}

export async function removeObject(key: string): Promise<void> {
  await rm(objectPath(key), { force: true });
  await rm(path.join(pendingDir(), key), { force: true });
  const dir = path.dirname(objectPath(key));
  const derived = await readdir(dir).catch(() => [] as string[]);
  await Promise.all(derived.filter((name) => name.startsWith(`${key}.`) && !name.endsWith('.partial')).map((name) => rm(path.join(dir, name), { force: true })));
}

const DERIVED_NAME = /^[a-z0-9-]+(\.[a-z0-9-]+)*$/;

/**
 * The path of something the server derived from a stored object (a rendition), beside it:
 * `name` is a fixed name chosen by the server, never client input. Removed with the object.
 */
export function derivedObjectPath(key: string, name: string): string {
  if (!DERIVED_NAME.test(name) || name === 'partial') throw new Error('invalid derived object name');
  return `${objectPath(key)}.${name}`;
}

/** Writes a derived object whole or not at all (a reader never sees half of one). Not fsynced: it can be derived again. */
export async function writeDerivedObject(key: string, name: string, bytes: Uint8Array): Promise<void> {
  const target = derivedObjectPath(key, name);
  const partial = `${target}.${randomUUID()}.partial`;
  try {
    await writeFile(partial, bytes, { flag: 'wx' });
    await rename(partial, target);
  } catch (error) {
    await rm(partial, { force: true });
    throw error;
  }
}

/** sha256 and size of any file, streamed so that 1 GB files keep memory flat. */
export async function hashFile(file: string): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(file, { highWaterMark: 1024 * 1024 }) as AsyncIterable<Buffer>) {
    hash.update(chunk);
    size += chunk.length;
  }
  return { sha256: hash.digest('hex'), size };
}

/** A private scratch file path for unpacking archives; callers remove it when done. */
export async function scratchFile(): Promise<string> {
  await mkdir(scratchDir(), { recursive: true });
  return path.join(scratchDir(), randomUUID());
}
