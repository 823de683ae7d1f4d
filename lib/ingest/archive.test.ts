import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import yazl from 'yazl';
import { ApiError } from '@/lib/api/errors';
import { extractArchive } from './archive';

const dir = mkdtempSync(path.join(os.tmpdir(), 'imaging-zip-'));
afterAll(() => rm(dir, { recursive: true, force: true }));

const limits = { maxEntryBytes: 10 * 1024 * 1024, maxTotalBytes: 20 * 1024 * 1024, maxEntries: 100 };

/** Builds a zip on disk; each entry is compressed unless `store` is set. */
export async function makeZip(name: string, entries: { name: string; data: Buffer; store?: boolean }[]): Promise<string> {
  const zip = new yazl.ZipFile();
  for (const e of entries) zip.addBuffer(e.data, e.name, { compress: !e.store });
  zip.end();
  const chunks: Buffer[] = [];
  for await (const chunk of zip.outputStream as AsyncIterable<Buffer>) chunks.push(chunk);
  const file = path.join(dir, name);
  writeFileSync(file, Buffer.concat(chunks));
  return file;
}

async function rejection(promise: Promise<unknown>): Promise<ApiError> {
  const error = await promise.then(() => null, (e: unknown) => e);
  expect(error).toBeInstanceOf(ApiError);
  return error as ApiError;
}

describe('extractArchive', () => {
  it('unpacks files to private scratch paths, ignoring folders and archiver noise', async () => {
    const a = randomBytes(5000);
    const b = randomBytes(70_000);
    const file = await makeZip('ok.zip', [
      { name: 'series/IM0001', data: a },
      { name: 'series/sub/IM0002.dcm', data: b, store: true },
      { name: '__MACOSX/series/._IM0001', data: Buffer.from('junk') },
      { name: 'series/.DS_Store', data: Buffer.from('junk') },
    ]);
    const { entries, skipped } = await extractArchive(file, limits);
    expect(skipped).toEqual([]);
    expect(entries.map((e) => [e.name, e.size])).toEqual([
      ['IM0001', 5000],
      ['IM0002.dcm', 70_000],
    ]);
    expect(readFileSync(entries[0]!.file).equals(a)).toBe(true);
    expect(readFileSync(entries[1]!.file).equals(b)).toBe(true);
    for (const e of entries) expect(path.basename(e.file)).toMatch(/^[0-9a-f-]{36}$/);
    await Promise.all(entries.map((e) => rm(e.file)));
  });

  it('refuses archives whose entry names climb out of the archive', async () => {
    for (const evil of ['../../../../tmp/owned', '..\\..\\..\\win\\owned', '/etc/cron.d/owned']) {
      // yazl will not write such names, so write a harmless one of the same length and patch it.
      const placeholder = 'x'.repeat(evil.length);
      const bytes = readFileSync(await makeZip(`evil-${evil.length}.zip`, [{ name: placeholder, data: Buffer.from('x') }]));
      let at = bytes.indexOf(placeholder);
      while (at >= 0) {
        bytes.write(evil, at, 'latin1');
        at = bytes.indexOf(placeholder, at + 1);
      }
      const file = path.join(dir, `evil-patched-${evil.length}.zip`);
      writeFileSync(file, bytes);
      const error = await rejection(extractArchive(file, limits));
      expect(error.status).toBe(422);
      expect(error.code).toBe('invalid_archive');
    }
  });

  it('refuses a file that is not a zip, and a damaged one', async () => {
    const notZip = path.join(dir, 'not.zip');
    writeFileSync(notZip, 'PK\u0003\u0004 but nothing after');
    expect((await rejection(extractArchive(notZip, limits))).code).toBe('invalid_archive');

    const good = readFileSync(await makeZip('flip.zip', [{ name: 'a', data: Buffer.alloc(4096, 7), store: true }]));
    // Flip one byte of the stored entry's data (after the 30-byte local header and the name).
    good[30 + 1 + 100] = good[30 + 1 + 100]! ^ 0xff;
    const flipped = path.join(dir, 'flipped.zip');
    writeFileSync(flipped, good);
    const error = await rejection(extractArchive(flipped, limits));
    expect(error.code).toBe('invalid_archive');
    expect(error.message).toMatch(/checksum/);
  });

  it('refuses a zip bomb before inflating it all, and too many entries', async () => {
    const bomb = await makeZip('bomb.zip', [
      { name: 'a', data: Buffer.alloc(8 * 1024 * 1024) },
      { name: 'b', data: Buffer.alloc(8 * 1024 * 1024) },
      { name: 'c', data: Buffer.alloc(8 * 1024 * 1024) },
    ]);
    const started = Date.now();
    const error = await rejection(extractArchive(bomb, { ...limits, maxTotalBytes: 12 * 1024 * 1024 }));
    expect(error.status).toBe(413);
    expect(Date.now() - started).toBeLessThan(1000);

    const big = await rejection(extractArchive(bomb, { ...limits, maxEntryBytes: 1024 * 1024 }));
    expect(big.status).toBe(413);

    const many = await makeZip('many.zip', Array.from({ length: 20 }, (_, i) => ({ name: `f${i}`, data: Buffer.from([i]) })));
    expect((await rejection(extractArchive(many, { ...limits, maxEntries: 10 }))).status).toBe(413);
  });

  it('stops an entry that inflates past the size it declares', async () => {
    const file = await makeZip('liar.zip', [{ name: 'a', data: Buffer.alloc(200_000, 1) }]);
    const bytes = readFileSync(file);
    // Patch the declared uncompressed size (central directory, offset 24 of the entry record) down.
    const cd = bytes.lastIndexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
    bytes.writeUInt32LE(1000, cd + 24);
    bytes.writeUInt32LE(1000, 22);
    const liar = path.join(dir, 'liar-patched.zip');
    writeFileSync(liar, bytes);
    const error = await rejection(extractArchive(liar, limits));
    expect([413, 422]).toContain(error.status);
  });
});
