import { execFileSync } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getDb } from '@/db';
import { acquireUploadLease, findUpload, insertUpload } from '@/db/queries/uploads';
import { instances, uploads } from '@/db/schema';
import { createTestToken } from '@/lib/testing/fixtures';
import { serveHandlers } from '@/lib/testing/http';
import { tusCreate, tusOffset, tusPatch, uploadWithFaults, type TusTarget } from '@/lib/testing/fault-client';
import { objectPath, objectsRoot, pendingDir, storeFile, uploadsDir } from '@/lib/storage';
import { reconcileUploads } from './recovery';
import { releaseDeadLocalLeases } from './upload-lock';
import { handleTusRequest, resetTusServerForTests } from './tus-server';
import { randomNiftiVolume } from '@/lib/testing/nifti-volume';

let base: string;
let close: () => Promise<void>;
let token: string;
let tokenId: string;
const target = (): TusTarget => ({ base, token });
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

async function start() {
  ({ url: base, close } = await serveHandlers({ '/api/upload': handleTusRequest }));
}

beforeAll(async () => {
  ({ secret: token, id: tokenId } = await createTestToken('clinician'));
  await start();
});
afterAll(async () => close());

/** A NIfTI volume of about `bytes` that no other upload has (random voxels). */
function volume(bytes = 256 * 1024): Buffer {
  return randomNiftiVolume(bytes, 64);
}

type Summary = { id: string; status: string; sha256: string; studyId: string; result: { instances: number; duplicates: number; items: { instanceId: string }[] } };

/** A body that sends `head`, then waits for `release` before sending the rest. */
function heldPatch(url: string, offset: number, data: Buffer, split: number, release: Promise<void>) {
  return new Promise<{ status: number; offset: string | undefined }>((resolve, reject) => {
    const req = http.request(url, {
      method: 'PATCH',
      headers: { 'Tus-Resumable': '1.0.0', Authorization: `Bearer ${token}`, 'Upload-Offset': String(offset), 'Content-Type': 'application/offset+octet-stream', 'Content-Length': String(data.length - offset) },
    });
    req.on('response', (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, offset: res.headers['upload-offset'] as string | undefined }));
    });
    req.on('error', reject);
    req.write(data.subarray(offset, split));
    void release.then(() => req.end(data.subarray(split)));
  });
}

describe('fifty uploads interrupted at random offsets', () => {
  it('all finish byte-identical: client aborts, connection resets and server restarts, offsets never going backwards', async () => {
    const kinds = { abort: 0, reset: 0, restart: 0 };
    let interruptions = 0;
    const started = Date.now();
    for (let n = 0; n < 50; n++) {
      const data = volume();
      const report = await uploadWithFaults(target, data, {
        interruptions: 1 + (n % 3),
        chooseInterruption: (i) => {
          const pick = (['abort', 'reset', 'restart'] as const)[(n + i) % 3]!;
          kinds[pick]++;
          if (pick !== 'restart') return { kind: pick };
          // The server dies with the request half received: only disk and database survive.
          return {
            kind: 'reset',
            onCut: async () => {
              await close();
              resetTusServerForTests();
              await start();
            },
          };
        },
        timeoutMs: 60_000,
      });
      interruptions += report.interruptions;
      expect(report.final.status, JSON.stringify(report.final.body)).toBe(200);
      const summary = report.final.body as Summary;
      expect(summary).toMatchObject({ status: 'ready', sha256: sha256(data) });
      // The server compared the sha256 itself (a mismatch is a 422); the stored copy is the upload.
      const upload = await findUpload(await getDb(), summary.id);
      expect(upload?.sha256).toBe(sha256(data));
      expect(existsSync(path.join(uploadsDir(), summary.id))).toBe(false);
    }
    expect(interruptions).toBeGreaterThanOrEqual(95);
    expect(Math.min(kinds.abort, kinds.reset, kinds.restart)).toBeGreaterThan(20);
    console.log(`[faults] 50 uploads, ${interruptions} interruptions (${kinds.abort} client aborts, ${kinds.reset} connection resets, ${kinds.restart} server restarts) in ${((Date.now() - started) / 1000).toFixed(1)} s: all byte-identical`);
  }, 180_000);
});

describe('one writer per upload', () => {
  it('refuses a second PATCH while the first is writing (423, Retry-After), and the upload stays intact', async () => {
    const data = volume();
    const url = await tusCreate(target(), data);
    let release!: () => void;
    const first = heldPatch(url, 0, data, 1000, new Promise((r) => (release = r)));
    await new Promise((r) => setTimeout(r, 200));
    const second = await tusPatch(target(), url, data, 0);
    expect(second?.status).toBe(423);
    expect(second?.headers['retry-after']).toBeTruthy();
    expect(JSON.parse(second!.text)).toMatchObject({ error: { code: 'locked' } });
    // A HEAD meanwhile reads the offset without cancelling the writer (tus's MemoryLocker would).
    expect((await tusOffset(target(), url))?.status).toBe(200);
    release();
    const done = await first;
    expect(done.status).toBe(200);
    const id = url.split('/').pop()!;
    expect((await findUpload(await getDb(), id))).toMatchObject({ status: 'ready', sha256: sha256(data), lockOwner: null });
  });

  it('refuses writers while another process holds the lease, and lets them in once it lapses', async () => {
    const data = volume();
    const url = await tusCreate(target(), data);
    const id = url.split('/').pop()!;
    const db = await getDb();
    expect(await acquireUploadLease(db, id, 'other-host:1:dead', 60_000)).toBe(true);
    expect((await tusPatch(target(), url, data, 0))?.status).toBe(423);
    // That process died: its lease lapses (here: made to lapse now).
    await db.update(uploads).set({ lockExpiresAt: new Date(Date.now() - 1000) }).where(eq(uploads.id, id));
    const res = await tusPatch(target(), url, data, 0);
    expect(res?.status).toBe(200);
    expect(JSON.parse(res!.text)).toMatchObject({ status: 'ready', sha256: sha256(data) });
  });

  it('frees at once the lease of a process on this host that died (a server killed mid-upload)', async () => {
    const data = volume();
    const url = await tusCreate(target(), data);
    const id = url.split('/').pop()!;
    const db = await getDb();
    // pid 2^22 + 1 is above Linux's pid_max limit: no such process can be running.
    expect(await acquireUploadLease(db, id, `${os.hostname()}:4194305:dead`, 60_000)).toBe(true);
    expect(await acquireUploadLease(db, randomUUID(), `${os.hostname()}:${process.pid}:alive`, 60_000)).toBe(false);
    expect((await tusPatch(target(), url, data, 0))?.status).toBe(423);
    expect(await releaseDeadLocalLeases()).toBe(1);
    expect((await tusPatch(target(), url, data, 0))?.status).toBe(200);
  });

  it('releases the lock when the client aborts', async () => {
    const data = volume();
    const url = await tusCreate(target(), data);
    await tusPatch(target(), url, data, 0, { cutAt: Math.floor(data.length / 2), interruption: 'abort' });
    let status = 0;
    for (let i = 0; i < 20 && status !== 200; i++) {
      const head = await tusOffset(target(), url);
      const res = await tusPatch(target(), url, data, head!.offset!);
      status = res?.status ?? 0;
      if (status !== 200) await new Promise((r) => setTimeout(r, 100));
    }
    expect(status).toBe(200);
  });
});

describe('a finished upload', () => {
  it('answers HEAD with Upload-Offset = Upload-Length, and a repeated final PATCH with the same outcome, ingesting once', async () => {
    const data = volume();
    const url = await tusCreate(target(), data);
    const first = await tusPatch(target(), url, data, 0);
    expect(first?.status).toBe(200);
    const summary = JSON.parse(first!.text) as Summary;
    const head = await tusOffset(target(), url);
    expect(head).toEqual({ status: 200, offset: data.length, length: data.length });
    const again = await tusPatch(target(), url, data, data.length);
    expect(again?.status).toBe(200);
    expect(JSON.parse(again!.text)).toMatchObject({ id: summary.id, status: 'ready', studyId: summary.studyId, result: { instances: 1, duplicates: 0 } });
    expect((await tusPatch(target(), url, data, 10))?.status).toBe(409);
  });

  it('repeats a refusal rather than ingesting: a checksum mismatch stays a 422', async () => {
    const data = volume();
    const url = await tusCreate(target(), data, { sha256: sha256(Buffer.from('something else')) });
    const first = await tusPatch(target(), url, data, 0);
    expect(first?.status).toBe(422);
    expect(JSON.parse(first!.text)).toMatchObject({ error: { code: 'checksum_mismatch' } });
    expect((await tusOffset(target(), url))?.offset).toBe(data.length);
    const again = await tusPatch(target(), url, data, data.length);
    expect(again?.status).toBe(422);
    expect(JSON.parse(again!.text)).toMatchObject({ error: { code: 'checksum_mismatch' } });
  });
});

describe('the reconcile sweep', () => {
  it('leaves no orphaned rows, files or objects after a crash, and ingests uploads whose ingest never ran', async () => {
    const db = await getDb();
    mkdirSync(uploadsDir(), { recursive: true });
    // 1. A tus file (and info file) without a row.
    const stray = randomUUID();
    writeFileSync(path.join(uploadsDir(), stray), 'partial bytes');
    writeFileSync(path.join(uploadsDir(), `${stray}.json`), '{}');
    // 2. A row whose file never got written (crash between the two).
    const rowOnly = randomUUID();
    await insertUpload(db, { id: rowOnly, tokenId, filename: 'x', declaredSize: 100, metadata: {} });
    // 3. Every byte on disk, ingest never started (crash after the last write).
    const data = volume();
    const url = await tusCreate(target(), data);
    const complete = url.split('/').pop()!;
    const cut = await tusPatch(target(), url, data, 0, { cutAt: data.length - 1, interruption: 'abort' });
    expect(cut).toBeNull();
    // The last byte lands directly in the tus file, as if written just before the crash.
    await new Promise((r) => setTimeout(r, 200));
    const file = path.join(uploadsDir(), complete);
    writeFileSync(file, data.subarray(statSync(file).size), { flag: 'a' });
    // 4. An upload cut short mid-ingest: status processing, file kept.
    const data4 = volume();
    const url4 = await tusCreate(target(), data4);
    const processing = url4.split('/').pop()!;
    await tusPatch(target(), url4, data4, 0, { cutAt: data4.length - 1, interruption: 'abort' });
    await new Promise((r) => setTimeout(r, 200));
    const file4 = path.join(uploadsDir(), processing);
    writeFileSync(file4, data4.subarray(statSync(file4).size), { flag: 'a' });
    await db.update(uploads).set({ status: 'processing' }).where(eq(uploads.id, processing));
    // 5. An object stored by an ingest whose catalogue transaction never committed, and an interrupted copy.
    const source = path.join(uploadsDir(), `${randomUUID()}.src`);
    writeFileSync(source, 'object bytes');
    const orphan = await storeFile(source, { pending: true });
    rmSync(source);
    const partial = `${objectPath(randomUUID())}.partial`;
    mkdirSync(path.dirname(partial), { recursive: true });
    writeFileSync(partial, 'half');
    // Everything above is "old" for this sweep.
    await db.update(uploads).set({ updatedAt: new Date(Date.now() - 3_600_000) }).where(eq(uploads.id, rowOnly));
    const report = await reconcileUploads({ idleMs: 0, pendingMs: 0 });

    expect(existsSync(path.join(uploadsDir(), stray))).toBe(false);
    expect(existsSync(path.join(uploadsDir(), `${stray}.json`))).toBe(false);
    expect(await findUpload(db, rowOnly)).toMatchObject({ status: 'failed', errorCode: 'upload_incomplete' });
    const ingested = await findUpload(db, complete);
    expect(ingested).toMatchObject({ status: 'ready', sha256: sha256(data) });
    expect(existsSync(file)).toBe(false);
    expect(await findUpload(db, processing)).toMatchObject({ status: 'ready', sha256: sha256(data4) });
    expect(existsSync(objectPath(orphan.key))).toBe(false);
    expect(existsSync(path.join(pendingDir(), orphan.key))).toBe(false);
    expect(existsSync(partial)).toBe(false);
    expect(report).toMatchObject({ ingested: 2 });
    expect(report.failed).toBeGreaterThanOrEqual(1);
    expect(report.orphanFiles).toBeGreaterThanOrEqual(2);
    expect(report.orphanObjects).toBeGreaterThanOrEqual(1);
    // The ingested objects are referenced, settled and kept.
    const [row] = await db.select().from(instances).where(eq(instances.id, (ingested!.result as { items: { instanceId: string }[] }).items[0]!.instanceId));
    expect(existsSync(objectPath(row!.storageKey))).toBe(true);
    expect(existsSync(path.join(pendingDir(), row!.storageKey))).toBe(false);
    // The client that comes back finds it complete.
    expect((await tusOffset(target(), url))?.offset).toBe(data.length);
    expect(existsSync(objectsRoot())).toBe(true);
  });
});

describe('an ingest interrupted after its catalogue commit', () => {
  it('is ingested again without a second series or instance', async () => {
    const db = await getDb();
    const data = volume();
    const url = await tusCreate(target(), data);
    const res = await tusPatch(target(), url, data, 0);
    const summary = JSON.parse(res!.text) as Summary;
    // The crash: the rows are committed, the upload is still `processing` with its file.
    const id = url.split('/').pop()!;
    writeFileSync(path.join(uploadsDir(), id), data);
    await db.update(uploads).set({ status: 'processing', updatedAt: new Date(Date.now() - 3_600_000) }).where(eq(uploads.id, id));
    await reconcileUploads({ idleMs: 0 });
    const after = await findUpload(db, id);
    expect(after).toMatchObject({ status: 'ready', studyId: summary.studyId });
    const rows = await db.select({ id: instances.id }).from(instances).where(eq(instances.uploadId, id));
    expect(rows.map((r) => r.id)).toEqual([summary.result.items[0]!.instanceId]);
    expect((after!.result as { duplicates: number }).duplicates).toBe(1);
    expect(existsSync(path.join(uploadsDir(), id))).toBe(false);
  });
});

/** tmpfs needs root (mount); elsewhere these tests say why they are skipped. */
function canMount(): boolean {
  if (process.getuid?.() !== 0) return false;
  try {
    execFileSync('mount', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const rootOnly = canMount() ? describe : describe.skip;
if (!canMount()) console.warn('[faults] disk-full tests skipped: they mount a tmpfs and need root');

rootOnly('disk full (a 8 MB tmpfs under the upload directory)', () => {
  let fill = '';
  beforeAll(() => {
    mkdirSync(uploadsDir(), { recursive: true });
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', uploadsDir()]);
    fill = path.join(uploadsDir(), 'filler.bin');
  });
  afterAll(() => {
    execFileSync('umount', ['-l', uploadsDir()]);
  });

  it('answers 507 insufficient_storage, then resumes where it stopped once space is back, byte-identical', async () => {
    const payload = volume(3 * 1024 * 1024);
    const url = await tusCreate(target(), payload);
    // Leave about 1 MB free.
    const free = () => Number(execFileSync('df', ['-B1', '--output=avail', uploadsDir()]).toString().trim().split('\n').pop());
    writeFileSync(fill, Buffer.alloc(Math.max(0, free() - 1024 * 1024)));
    const res = await tusPatch(target(), url, payload, 0);
    expect(res?.status).toBe(507);
    expect(JSON.parse(res!.text)).toMatchObject({ error: { code: 'insufficient_storage' } });
    expect(res?.headers['retry-after']).toBeTruthy();
    const stopped = await tusOffset(target(), url);
    expect(stopped?.status).toBe(200);
    expect(stopped!.offset!).toBeGreaterThan(0);
    expect(stopped!.offset!).toBeLessThan(payload.length);
    rmSync(fill);
    const resumed = await tusPatch(target(), url, payload, stopped!.offset!);
    expect(resumed?.status, resumed?.text).toBe(200);
    expect(JSON.parse(resumed!.text)).toMatchObject({ status: 'ready', sha256: sha256(payload) });
  });
});
