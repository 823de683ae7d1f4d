import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GET as getInstanceFile } from '@/app/api/instances/[id]/file/route';
import { GET as getStudy } from '@/app/api/studies/[id]/route';
import { GET as getUploadRoute } from '@/app/api/uploads/[id]/route';
import { getDb } from '@/db';
import { instances, uploads } from '@/db/schema';
import type { ApiError } from '@/lib/api/errors';
import { writeDicom } from '@/lib/dicom/writer';
import { resetEnvForTests } from '@/lib/env';
import { nifti1Header } from '@/lib/nifti/test-helpers';
import { dataDir, objectPath } from '@/lib/storage';
import { deflateBomb, gzipBomb, manyElementsDicom, rawZip } from '@/lib/testing/fuzz/bombs';
import { HOSTILE_PATH_STRINGS, withPolyglotPreamble } from '@/lib/testing/fuzz/dicom-mutator';
import { createTestToken } from '@/lib/testing/fixtures';
import { serveHandlers } from '@/lib/testing/http';
import { callRoute } from '@/lib/testing/route';
import { studyFixture } from '@/lib/testing/study-fixture';
import { ingestForTest } from '@/lib/testing/ingest';
import { tusUpload, type TusResult } from '@/lib/testing/tus-client';
import { closeParsePool } from './parse-pool';
import { handleTusRequest, resetTusServerForTests } from './tus-server';

let base: string;
let close: () => Promise<void>;
let token: string;

beforeAll(async () => {
  ({ secret: token } = await createTestToken('clinician'));
  ({ url: base, close } = await serveHandlers({ '/api/upload': handleTusRequest }));
  // Start the ingest workers, so that the figures below are the refusal, not a thread's start-up.
  expect((await upload(studyFixture('mr_small_explicit_le').data)).status).toBe(200);
});
afterAll(async () => {
  await close();
  await closeParsePool();
});

const MB = 1024 * 1024;
const GB = 1024 * MB;
const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');
type ErrorBody = { error: { code: string; message: string; details?: { reason?: string } } };
type Summary = { id: string; status: string; result: { instances: number; items: { instanceId: string; name: string | null }[]; skipped: { name: string | null; code: string }[] } };

function upload(data: Buffer, metadata: Record<string, string> = {}): Promise<TusResult> {
  return tusUpload(`${base}/api/upload`, data, { token, metadata: { sha256: sha256(data), ...metadata } });
}

async function withEnv<T>(vars: Record<string, string>, run: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  Object.assign(process.env, vars);
  resetEnvForTests();
  resetTusServerForTests();
  try {
    return await run();
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    resetEnvForTests();
    resetTusServerForTests();
  }
}

/** Runs `work` while sampling this process's RSS (server, ingest workers and client all live here). */
async function measured<T>(work: () => Promise<T>): Promise<{ result: T; ms: number; rssGrowth: number }> {
  global.gc?.();
  const before = process.memoryUsage().rss;
  let peak = before;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
  const started = performance.now();
  try {
    const result = await work();
    return { result, ms: performance.now() - started, rssGrowth: Math.max(peak, process.memoryUsage().rss) - before };
  } finally {
    clearInterval(timer);
  }
}

/** Every file under DATA_DIR must be one the server named: object keys, tus ids, scratch ids. */
function unexpectedFiles(): string[] {
  const uuid = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
  const allowed = new RegExp(`^(objects/[0-9a-f]{2}/${uuid}|uploads/${uuid}(\\.json)?|tmp/${uuid}|\\.dev-auth-secret)$`);
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const full = path.join(dir, name);
      if (statSync(full).isDirectory()) walk(full);
      else {
        const rel = path.relative(dataDir(), full).split(path.sep).join('/');
        if (!allowed.test(rel)) found.push(rel);
      }
    }
  };
  walk(dataDir());
  return found;
}

function scratchFiles(): string[] {
  const dir = path.join(dataDir(), 'tmp');
  return existsSync(dir) ? readdirSync(dir) : [];
}

const testStarted = Date.now();

/** Where a path-steering name would have landed, from each directory the server writes in. */
function escapedTargets(names: string[]): string[] {
  const dirs = [dataDir(), path.join(dataDir(), 'objects', 'ab'), path.join(dataDir(), 'uploads'), path.join(dataDir(), 'tmp')];
  return names.flatMap((name) => dirs.map((dir) => path.resolve(dir, name.replaceAll('\\', '/').replaceAll('\0', '')))).filter((p) => existsSync(p) && statSync(p).mtimeMs >= testStarted - 1000);
}

describe('decompression bombs', () => {
  it('refuses a .nii.gz of a small NIfTI header and 8 GiB of zeros in about a second, with flat memory', async () => {
    const header = nifti1Header({ dims: [16, 16, 16], datatype: 4, bitpix: 16 });
    const bomb = gzipBomb(header, 8 * GB);
    expect(bomb.data.length).toBeLessThan(12 * MB);
    // The default limit (2 GiB) applies: the bomb is twice that.
    const { result, ms, rssGrowth } = await measured(() => upload(bomb.data, { filename: 'bomb.nii.gz' }));
    console.log(`[bomb] .nii.gz ${(bomb.data.length / MB).toFixed(1)} MB inflating to ${(bomb.inflatedBytes / GB).toFixed(1)} GiB: ${result.status} ${JSON.stringify(result.body).slice(0, 200)} in ${ms.toFixed(0)} ms (upload included), RSS +${(rssGrowth / MB).toFixed(1)} MB`);
    expect(result.status).toBe(422);
    expect((result.body as ErrorBody).error).toMatchObject({ code: 'invalid_nifti', details: { reason: 'trailing_data' } });
    expect(ms).toBeLessThan(5000);
    expect(rssGrowth).toBeLessThan(256 * MB);
    // The pipeline alone (the file already on disk, as after the last tus PATCH).
    const file = path.join(dataDir(), `bomb-${Date.now()}.nii.gz`);
    writeFileSync(file, bomb.data);
    try {
      const ingest = await measured(() => ingestForTest(file).then(() => null, (error: unknown) => error as ApiError));
      console.log(`[bomb] the same through ingest alone: ${ingest.result?.status} ${ingest.result?.code} in ${ingest.ms.toFixed(0)} ms, RSS +${(ingest.rssGrowth / MB).toFixed(1)} MB`);
      expect(ingest.result?.status).toBe(422);
      expect(ingest.ms).toBeLessThan(3000);
    } finally {
      rmSync(file, { force: true });
    }
  }, 60_000);

  it('refuses a .nii.gz whose header itself declares more than UPLOAD_MAX_INFLATED_BYTES at once', async () => {
    const header = nifti1Header({ dims: [2048, 2048, 1024], datatype: 4, bitpix: 16 });
    const bomb = gzipBomb(header, 1 * GB);
    const { result, ms } = await measured(() => upload(bomb.data, { filename: 'bomb.nii.gz' }));
    console.log(`[bomb] .nii.gz declaring 8 GiB: ${result.status} in ${ms.toFixed(0)} ms`);
    expect(result.status).toBe(413);
    expect((result.body as ErrorBody).error.code).toBe('payload_too_large');
    expect(['inflate_limit', 'dimensions_too_large']).toContain((result.body as ErrorBody).error.details?.reason);
  }, 60_000);

  it('refuses gzip of zeros with no NIfTI inside after the first block', async () => {
    const bomb = gzipBomb(Buffer.alloc(0), 4 * GB);
    const { result, ms, rssGrowth } = await measured(() => upload(bomb.data, { filename: 'zeros.nii.gz' }));
    console.log(`[bomb] gzip of 4 GiB zeros: ${result.status} in ${ms.toFixed(0)} ms, RSS +${(rssGrowth / MB).toFixed(1)} MB`);
    expect(result.status).toBeGreaterThanOrEqual(400);
    expect(result.status).toBeLessThan(500);
    expect(rssGrowth).toBeLessThan(256 * MB);
  }, 60_000);

  it('refuses a zip of overlapping entries declaring 10 GiB from its central directory, before inflating anything', async () => {
    const kernel = deflateBomb(Buffer.alloc(0), 960 * MB);
    const zip = rawZip([{ name: 'IM0.dcm', deflated: kernel }, ...Array.from({ length: 9 }, (_, i) => ({ name: `IM${i + 1}.dcm`, deflated: kernel, sameDataAs: 0 }))]);
    expect(zip.length).toBeLessThan(2 * MB);
    const { result, ms, rssGrowth } = await measured(() => upload(zip, { filename: 'bomb.zip' }));
    console.log(`[bomb] zip ${(zip.length / MB).toFixed(1)} MB declaring ${(10 * kernel.size / GB).toFixed(1)} GiB: ${result.status} in ${ms.toFixed(0)} ms, RSS +${(rssGrowth / MB).toFixed(1)} MB`);
    expect(result.status).toBe(413);
    expect((result.body as ErrorBody).error.code).toBe('payload_too_large');
    expect(ms).toBeLessThan(5000);
    expect(rssGrowth).toBeLessThan(256 * MB);
    expect(scratchFiles()).toEqual([]);
  }, 60_000);

  it('stops a zip entry that inflates past the size it declares at once', async () => {
    const kernel = deflateBomb(Buffer.alloc(0), 4 * GB);
    const zip = rawZip([{ name: 'small.dcm', deflated: kernel, declared: { size: 1 * MB } }]);
    const { result, ms, rssGrowth } = await measured(() => upload(zip, { filename: 'liar.zip' }));
    console.log(`[bomb] zip entry declaring 1 MiB, inflating to 4 GiB: ${result.status} in ${ms.toFixed(0)} ms, RSS +${(rssGrowth / MB).toFixed(1)} MB`);
    // yauzl's own size check (422 invalid_archive) or ours (413) fires first; either stops at 1 MiB.
    expect([413, 422]).toContain(result.status);
    expect(['payload_too_large', 'invalid_archive']).toContain((result.body as ErrorBody).error.code);
    expect(ms).toBeLessThan(5000);
    expect(rssGrowth).toBeLessThan(256 * MB);
    expect(scratchFiles()).toEqual([]);
  }, 60_000);
});

describe('parse workers under memory and time limits', () => {
  it('refuses with a 422 a file that exhausts the worker heap, and the next upload is served', async () => {
    await withEnv({ INGEST_WORKER_MEMORY_MB: '48' }, async () => {
      const fine = studyFixture('mr_small_explicit_le');
      expect((await upload(fine.data)).status).toBe(200);
      const heavy = await upload(manyElementsDicom(300_000));
      expect(heavy.status).toBe(422);
      expect((heavy.body as ErrorBody).error).toMatchObject({ code: 'invalid_dicom', details: { reason: 'parse_memory_limit' } });
      const after = studyFixture('mr_small_explicit_le');
      expect((await upload(after.data)).status).toBe(200);
    });
    // With the default limit the same file parses (and is refused for what it is, not for memory).
    const normal = await upload(manyElementsDicom(300_000));
    expect((normal.body as ErrorBody).error?.details?.reason).not.toBe('parse_memory_limit');
  }, 120_000);

  it('refuses with a 422 a file whose parse overruns the time limit, and the next upload is served', async () => {
    await withEnv({ INGEST_PARSE_TIMEOUT_MS: '1' }, async () => {
      const slow = await upload(studyFixture('ct_small_explicit_le').data);
      expect(slow.status).toBe(422);
      expect((slow.body as ErrorBody).error).toMatchObject({ code: 'invalid_dicom', details: { reason: 'parse_timeout' } });
    });
    expect((await upload(studyFixture('ct_small_explicit_le').data)).status).toBe(200);
  }, 120_000);
});

describe('polyglot preambles (CVE-2019-11687)', () => {
  for (const kind of ['elf', 'html', 'zip', 'pdf', 'pe'] as const) {
    it(`stores a DICOM file with a ${kind} header in its preamble with the preamble zeroed`, async () => {
      const original = studyFixture('mr_small_explicit_le').data;
      const polyglot = withPolyglotPreamble(original, kind);
      expect(polyglot.subarray(0, 4).equals(original.subarray(0, 4))).toBe(false);
      const result = await upload(polyglot, { filename: `image.${kind}` });
      expect(result.status).toBe(200);
      const instanceId = (result.body as Summary).result.items[0]!.instanceId;
      const [row] = await (await getDb()).select().from(instances).where(eq(instances.id, instanceId));
      const stored = readFileSync(objectPath(row!.storageKey));
      expect(stored.subarray(0, 128).every((b) => b === 0)).toBe(true);
      expect(stored.subarray(128).equals(polyglot.subarray(128))).toBe(true);
      expect(row!.sha256).toBe(sha256(stored));
      const served = await callRoute(getInstanceFile as never, { url: `/api/instances/${instanceId}/file?original=true`, token, params: { id: instanceId } }).catch(() => null);
      expect(served?.status ?? 200).toBeLessThan(500);
    });
  }

  it('serves the original download with the zeroed preamble', async () => {
    const polyglot = withPolyglotPreamble(studyFixture('mr_small_explicit_le').data, 'html');
    const result = await upload(polyglot);
    const instanceId = (result.body as Summary).result.items[0]!.instanceId;
    const res = await (getInstanceFile as unknown as (r: Request, c: { params: Promise<{ id: string }> }) => Promise<Response>)(
      new Request(`http://app.test/api/instances/${instanceId}/file?original=true`, { headers: { authorization: `Bearer ${token}` } }),
      { params: Promise.resolve({ id: instanceId }) },
    );
    expect(res.status).toBe(200);
    const body = Buffer.from(await res.arrayBuffer());
    expect(body.subarray(0, 128).every((b) => b === 0)).toBe(true);
    expect(body.toString('latin1', 128, 132)).toBe('DICM');
    expect(body.includes(Buffer.from('<script>'))).toBe(false);
  });
});

describe('storage paths never come from what clients send', () => {
  it('keeps ../, %2F, backslashes and NUL in tus filenames and relative paths out of every path', async () => {
    for (const name of HOSTILE_PATH_STRINGS) {
      const result = await upload(studyFixture('mr_small_explicit_le').data, { filename: name, relativePath: `${name}/${name}` });
      expect(result.status, name).toBe(200);
      const summary = result.body as Summary;
      const [row] = await (await getDb()).select().from(uploads).where(eq(uploads.id, summary.id));
      // Shown as a name only: the last segment, without separators or control characters.
      expect(row!.filename ?? '').not.toMatch(/[/\\\u0000]/);
    }
    expect(unexpectedFiles()).toEqual([]);
    expect(escapedTargets(HOSTILE_PATH_STRINGS)).toEqual([]);
    expect(existsSync('/tmp/pwned')).toBe(false);
  });

  it('keeps hostile zip entry names out of every path (the archive is refused or its images stored under server keys)', async () => {
    const names = [...HOSTILE_PATH_STRINGS, '../evil.dcm', '..\\evil.dcm', '/abs/evil.dcm', 'C:\\evil.dcm', 'dir/../../evil.dcm', Buffer.from('nul\0../../evil.dcm', 'latin1')];
    for (const name of names) {
      const zip = rawZip([{ name, data: studyFixture('mr_small_explicit_le').data }, { name: 'ok/IM1.dcm', data: studyFixture('mr_small_explicit_le').data }]);
      const result = await upload(zip, { filename: 'hostile.zip' });
      expect([200, 422], String(name)).toContain(result.status);
      if (result.status === 200) {
        for (const item of (result.body as Summary).result.items) expect(item.name ?? '').not.toMatch(/[/\\\u0000]/);
      } else {
        expect((result.body as ErrorBody).error.code).toBe('invalid_archive');
      }
    }
    expect(unexpectedFiles()).toEqual([]);
    expect(escapedTargets([...HOSTILE_PATH_STRINGS, '../evil.dcm', '../../evil.dcm', 'evil.dcm'])).toEqual([]);
  });

  it('refuses UIDs inside DICOM that are paths, escapes or NULs (422 invalid_uid), storing nothing', async () => {
    const pixels = { tag: 0x7fe00010, vr: 'OW', value: new Uint8Array(4 * 4 * 2) };
    const image = [
      { tag: 0x00280010, vr: 'US', value: 4 },
      { tag: 0x00280011, vr: 'US', value: 4 },
      { tag: 0x00280100, vr: 'US', value: 16 },
      { tag: 0x00280002, vr: 'US', value: 1 },
      { tag: 0x00280004, vr: 'CS', value: 'MONOCHROME2' },
      pixels,
    ];
    const before = (await (await getDb()).select({ id: instances.id }).from(instances)).length;
    for (const hostile of HOSTILE_PATH_STRINGS) {
      for (const tag of [0x0020000d, 0x0020000e, 0x00080018]) {
        const uids = new Map([[0x0020000d, '1.2.3.4'], [0x0020000e, '1.2.3.4.1'], [0x00080018, '1.2.3.4.1.1']]);
        uids.set(tag, hostile);
        const data = writeDicom([...image, ...[...uids].map(([t, v]) => ({ tag: t, vr: 'UI', value: v }))], { sopClassUid: '1.2.840.10008.5.1.4.1.1.7', sopInstanceUid: uids.get(0x00080018)! });
        const result = await upload(data);
        expect(result.status, `${tag.toString(16)}=${JSON.stringify(hostile)}`).toBe(422);
        expect((result.body as ErrorBody).error).toMatchObject({ code: 'invalid_dicom', details: { reason: 'invalid_uid' } });
      }
    }
    expect((await (await getDb()).select({ id: instances.id }).from(instances)).length).toBe(before);
    expect(unexpectedFiles()).toEqual([]);
  });

  it('answers ids in URLs that are paths, escapes or NULs with a 4xx, never a file or a 5xx', async () => {
    const ids = [...HOSTILE_PATH_STRINGS, '..', '.', '%00', '00000000-0000-0000-0000-000000000000/../../etc/passwd', '..%5C..%5Cwin.ini'];
    for (const id of ids) {
      for (const [handler, url] of [
        [getUploadRoute, `/api/uploads/${encodeURIComponent(id)}`],
        [getInstanceFile, `/api/instances/${encodeURIComponent(id)}/file?original=true`],
        [getStudy, `/api/studies/${encodeURIComponent(id)}`],
      ] as const) {
        const res = await callRoute(handler as never, { url, token, params: { id } });
        expect(res.status, `${url}`).toBeGreaterThanOrEqual(400);
        expect(res.status, `${url}`).toBeLessThan(500);
      }
      // tus: the raw path as a client can send it, encoded and not.
      for (const raw of [encodeURIComponent(id), id.replaceAll('\0', '%00').replaceAll('\\', '%5C')]) {
        for (const method of ['HEAD', 'PATCH', 'DELETE', 'GET']) {
          const res = await fetch(`${base}/api/upload/${raw}`, {
            method,
            headers: { Authorization: `Bearer ${token}`, 'Tus-Resumable': '1.0.0', 'Upload-Offset': '0', 'Content-Type': 'application/offset+octet-stream' },
            body: method === 'PATCH' ? 'x' : undefined,
          });
          expect(res.status, `${method} /api/upload/${raw}`).toBeGreaterThanOrEqual(400);
          expect(res.status, `${method} /api/upload/${raw}`).toBeLessThan(500);
        }
      }
    }
    expect(unexpectedFiles()).toEqual([]);
  });
});

describe('deflated DICOM bombs', () => {
  it('refuses a Deflated Explicit VR file whose dataset inflates past the limit, with flat memory', async () => {
    const head = writeDicom([], { sopClassUid: '1.2.840.10008.5.1.4.1.1.7', sopInstanceUid: '1.2.3.4.5', transferSyntaxUid: '1.2.840.10008.1.2.1.99' });
    const bomb = Buffer.concat([head, deflateBomb(Buffer.alloc(0), 4 * GB).data]);
    const { result, ms, rssGrowth } = await withEnv({ UPLOAD_MAX_INFLATED_BYTES: String(512 * MB) }, () => measured(() => upload(bomb, { filename: 'deflate.dcm' })));
    console.log(`[bomb] deflated DICOM ${(bomb.length / MB).toFixed(1)} MB inflating to 4 GiB, limit 512 MiB: ${result.status} ${JSON.stringify(result.body).slice(0, 160)} in ${ms.toFixed(0)} ms, RSS +${(rssGrowth / MB).toFixed(1)} MB`);
    expect(result.status).toBe(413);
    expect((result.body as ErrorBody).error).toMatchObject({ code: 'payload_too_large', details: { reason: 'inflate_limit' } });
    expect(rssGrowth).toBeLessThan(256 * MB);
  }, 60_000);

  it('still stores the corpus deflated file', async () => {
    const data = readFileSync(path.resolve('lib/dicom/__fixtures__/ot_deflate.dcm'));
    const result = await upload(data);
    expect([200]).toContain(result.status);
  });
});
