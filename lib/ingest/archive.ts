import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import yauzl, { type Entry, type ZipFile } from 'yauzl';
import { ApiError } from '@/lib/api/errors';
import { scratchFile } from '@/lib/storage';
import { Crc32 } from './crc32';
import { displayName, printableText } from './metadata';

export interface ExtractedEntry {
  /** The entry's name for display only; never used to build a path. */
  name: string | null;
  file: string;
  size: number;
}

export interface SkippedEntry {
  name: string | null;
  code: string;
  message: string;
}

export interface ArchiveLimits {
  maxEntryBytes: number;
  maxTotalBytes: number;
  maxEntries: number;
}

const invalidArchive = (message: string) => new ApiError(422, 'invalid_archive', printableText(message));
const tooLarge = (message: string) => new ApiError(413, 'payload_too_large', message);

function openZip(file: string): Promise<ZipFile> {
  return new Promise((resolve, reject) =>
    yauzl.open(file, { lazyEntries: true, autoClose: false, validateEntrySizes: true, strictFileNames: false }, (err, zip) =>
      err || !zip ? reject(err ?? new Error('no zip')) : resolve(zip),
    ),
  );
}

function openEntry(zip: ZipFile, entry: Entry): Promise<NodeJS.ReadableStream> {
  return new Promise((resolve, reject) =>
    zip.openReadStream(entry, (err, stream) => (err || !stream ? reject(err ?? new Error('no stream')) : resolve(stream))),
  );
}

/** Junk that archivers add and users never meant as images. */
function isNoise(name: string): boolean {
  const base = name.split('/').pop() ?? '';
  return name.startsWith('__MACOSX/') || base.startsWith('._') || base === '.DS_Store' || base === 'Thumbs.db' || base === 'desktop.ini';
}

/**
 * Unpacks every file entry to private scratch files, checking declared sizes, real sizes, CRCs and
 * the limits before anything is ingested, so that a corrupt or hostile archive is refused whole
 * instead of leaving half of it stored. The caller removes the scratch files.
 */
export async function extractArchive(file: string, limits: ArchiveLimits): Promise<{ entries: ExtractedEntry[]; skipped: SkippedEntry[] }> {
  let zip: ZipFile;
  try {
    zip = await openZip(file);
  } catch (error) {
    throw invalidArchive(`Not a readable zip archive: ${(error as Error).message}`);
  }
  if (zip.entryCount > limits.maxEntries) {
    zip.close();
    throw tooLarge(`The archive has ${zip.entryCount} entries; at most ${limits.maxEntries} are accepted`);
  }

  const entries: ExtractedEntry[] = [];
  const skipped: SkippedEntry[] = [];
  try {
    // The whole central directory first: an archive whose entries declare more than the limits
    // (a zip bomb, overlapping entries) is refused before a single byte is inflated.
    const listed = await listEntries(zip);
    let declaredTotal = 0;
    for (const entry of listed) {
      const name = displayName(entry.fileName);
      if (entry.uncompressedSize > limits.maxEntryBytes) {
        throw tooLarge(`Archive entry ${name ?? ''} is larger than the ${limits.maxEntryBytes}-byte limit`);
      }
      declaredTotal += entry.uncompressedSize;
      if (declaredTotal > limits.maxTotalBytes) {
        throw tooLarge(`The archive would unpack to more than ${limits.maxTotalBytes} bytes`);
      }
    }
    for (const entry of listed) await handleEntry(entry);
  } catch (error) {
    await Promise.all(entries.map((e) => rm(e.file, { force: true })));
    throw error;
  } finally {
    zip.close();
  }
  return { entries, skipped };

  function listEntries(source: ZipFile): Promise<Entry[]> {
    const listed: Entry[] = [];
    return new Promise<Entry[]>((resolve, reject) => {
      source.on('error', (error: Error) => reject(invalidArchive(`Corrupt zip archive: ${error.message}`)));
      source.on('end', () => resolve(listed));
      source.on('entry', (entry: Entry) => {
        const rawName = entry.fileName;
        if (!rawName.endsWith('/') && !isNoise(rawName)) listed.push(entry);
        source.readEntry();
      });
      source.readEntry();
    });
  }

  async function handleEntry(entry: Entry): Promise<void> {
    const name = displayName(entry.fileName);
    if (entry.generalPurposeBitFlag & 0x1) {
      skipped.push({ name, code: 'encrypted', message: 'Encrypted archive entries are not supported' });
      return;
    }
    const target = await scratchFile();
    const crc = new Crc32();
    let written = 0;
    const check = new Transform({
      transform(chunk: Buffer, _enc, done) {
        written += chunk.length;
        // validateEntrySizes catches this too, but only at the end; stop a lying entry at once.
        if (written > entry.uncompressedSize) return done(tooLarge(`Archive entry ${name ?? ''} is larger than it declares`));
        crc.update(chunk);
        done(null, chunk);
      },
    });
    try {
      await pipeline(await openEntry(zip, entry), check, createWriteStream(target, { flags: 'wx' }));
    } catch (error) {
      await rm(target, { force: true });
      if (error instanceof ApiError) throw error;
      throw invalidArchive(`Corrupt zip entry ${name ?? ''}: ${(error as Error).message}`);
    }
    if (crc.value !== entry.crc32) {
      await rm(target, { force: true });
      throw invalidArchive(`Corrupt zip entry ${name ?? ''}: checksum mismatch`);
    }
    entries.push({ name, file: target, size: written });
  }
}
