/**
 * `npm run fuzz`: hostile files through the HTTP upload path of a production server.
 *
 * Mutates every valid file of the shared dev corpus (../shared/corpus, manifest.json; the
 * committed fixtures when it is absent) into FUZZ_DICOM (5,000) DICOM and FUZZ_NIFTI (2,000)
 * NIfTI variants with the seeded mutator of lib/testing/fuzz, uploads each with tus to
 * `next start` on FUZZ_PORT (3109) against a fresh PostgreSQL database, and reports how many
 * were stored (each checked byte for byte in storage), refused (by status and code), answered
 * 5xx, or took the server down. Then it sends hostile ids in URLs through the real router.
 * Exit code 1 if anything was neither stored correctly nor refused with a 4xx.
 *
 * Reproduce one variant: FUZZ_SEED=<seed> FUZZ_ONLY=<kind>:<source>:<index> npm run fuzz
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import postgres from 'postgres';

const PORT = Number(process.env.FUZZ_PORT ?? process.env.E2E_PORT ?? 3109);
const SEED = Number(process.env.FUZZ_SEED ?? 20261201);
const DICOM_COUNT = Number(process.env.FUZZ_DICOM ?? 5000);
const NIFTI_COUNT = Number(process.env.FUZZ_NIFTI ?? 2000);
const CONCURRENCY = Number(process.env.FUZZ_CONCURRENCY ?? 4);
const CORPUS = path.resolve(process.env.FUZZ_CORPUS_DIR ?? '../shared/corpus');
const ADMIN_URL = process.env.TEST_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'imaging-fuzz-'));
const dataDir = path.join(tmp, 'data');
const dbName = `imaging_fuzz_${Date.now()}_${process.pid}`;
const dbUrl = (() => {
  const u = new URL(ADMIN_URL);
  u.pathname = `/${dbName}`;
  return u.toString();
})();
// The oracle reads the server's catalogue and storage directly.
process.env.DATA_DIR = dataDir;
process.env.DATABASE_URL = dbUrl;
process.env.AUTH_SECRET ??= 'fuzz-secret-0123456789abcdefghijklmnopqrstuvwxyz';

const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');
const origin = `http://127.0.0.1:${PORT}`;

let server: ChildProcess | null = null;
let serverExits = 0;
let expectedStop = false;
let peakRss = 0;

function rssOf(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) * 1024;
  } catch {
    return 0;
  }
}

async function waitForHealth(timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      if ((await fetch(`${origin}/api/health`)).ok) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${origin} did not come up`);
}

let starting: Promise<void> | null = null;

/** Starts the server (once, however many uploads notice it is gone). */
function startServer(extraEnv: Record<string, string> = {}): Promise<void> {
  starting ??= spawnServer(extraEnv).finally(() => (starting = null));
  return starting;
}

/** Stops the server on purpose and starts it again with `extraEnv`. */
async function restartServer(extraEnv: Record<string, string>): Promise<void> {
  const old = server;
  expectedStop = true;
  if (old) {
    const exited = new Promise((r) => old.once('exit', r));
    old.kill();
    await exited;
  }
  expectedStop = false;
  await startServer(extraEnv);
}

async function spawnServer(extraEnv: Record<string, string>): Promise<void> {
  const child = spawn('node', ['node_modules/next/dist/bin/next', 'start', '-H', '127.0.0.1', '-p', String(PORT)], {
    env: { ...process.env, NODE_ENV: 'production', DATA_DIR: dataDir, DATABASE_URL: dbUrl, ...extraEnv },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  child.stderr!.on('data', (d: Buffer) => {
    const text = d.toString();
    if (/error|exception/i.test(text)) process.stderr.write(`[server] ${text.slice(0, 2000)}`);
  });
  child.on('exit', (code, signal) => {
    if (expectedStop) return;
    serverExits++;
    console.error(`[fuzz] THE SERVER EXITED (code ${code}, signal ${signal}); restarting it`);
    server = null;
  });
  server = child;
  await waitForHealth();
}

async function main() {
  const { openDatabase } = await import('../db');
  const { insertApiToken } = await import('../db/queries/api-tokens');
  const { generateApiTokenSecret } = await import('../lib/auth/tokens');
  const { corpusSources, fixtureSources, describeVariant, rebuildVariant, variants } = await import('../lib/testing/fuzz/variants');
  const { formatTally, newTally, verifyStoredInstance } = await import('../lib/testing/fuzz/oracle');
  const { getDb, closeDb } = await import('../db');

  const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database "${dbName}"`);
  const cleanups: (() => Promise<void> | void)[] = [
    async () => {
      await admin.unsafe(`drop database if exists "${dbName}" with (force)`);
      await admin.end();
    },
    () => rmSync(tmp, { recursive: true, force: true }),
  ];
  let failed = false;
  try {
    const handle = await openDatabase({ url: dbUrl, dataDir });
    const secret = generateApiTokenSecret();
    await insertApiToken(handle.db, { name: 'fuzz', tokenHash: secret.hash, prefix: secret.prefix, role: 'clinician', scopes: ['studies:read', 'studies:write'] });
    await handle.close();
    const auth = { Authorization: `Bearer ${secret.secret}` };

    const sources = existsSync(path.join(CORPUS, 'manifest.json')) ? corpusSources(CORPUS) : fixtureSources();
    console.log(`[fuzz] seed ${SEED}; ${sources.filter((s) => s.kind === 'dicom').length} DICOM and ${sources.filter((s) => s.kind === 'nifti').length} NIfTI sources from ${existsSync(path.join(CORPUS, 'manifest.json')) ? CORPUS : 'the committed fixtures'}; server on ${origin}`);
    await startServer();
    const rssTimer = setInterval(() => server?.pid && (peakRss = Math.max(peakRss, rssOf(server.pid))), 200);
    cleanups.unshift(() => clearInterval(rssTimer));

    const db = await getDb();
    cleanups.unshift(() => closeDb());

    async function uploadOnce(data: Buffer, metadata: Record<string, string>): Promise<{ status: number; body: unknown } | { network: string }> {
      try {
        const create = await fetch(`${origin}/api/upload`, {
          method: 'POST',
          headers: {
            ...auth,
            'Tus-Resumable': '1.0.0',
            'Upload-Length': String(data.length),
            'Upload-Metadata': Object.entries(metadata).map(([k, v]) => `${k} ${Buffer.from(v).toString('base64')}`).join(','),
          },
        });
        if (create.status !== 201) return { status: create.status, body: await create.json().catch(() => null) };
        const url = new URL(create.headers.get('location')!, `${origin}/api/upload`).toString();
        const res = await fetch(url, {
          method: 'PATCH',
          headers: { ...auth, 'Tus-Resumable': '1.0.0', 'Upload-Offset': '0', 'Content-Type': 'application/offset+octet-stream' },
          body: new Uint8Array(data),
        });
        return { status: res.status, body: await res.json().catch(() => null) };
      } catch (error) {
        return { network: String((error as Error).cause ?? error) };
      }
    }

    const tallies = { dicom: newTally(), nifti: newTally() };
    const started = performance.now();
    for (const kind of ['dicom', 'nifti'] as const) {
      const tally = tallies[kind];
      const only = process.env.FUZZ_ONLY?.split(':');
      const list = only
        ? only[0] === kind
          ? [rebuildVariant(sources, kind, only[1]!, Number(only[2]), SEED)]
          : []
        : variants(sources, kind, kind === 'dicom' ? DICOM_COUNT : NIFTI_COUNT, SEED);
      const iterator = (function* () {
        yield* list;
      })();
      const kindStarted = performance.now();
      let completed = 0;
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          for (let next = iterator.next(); !next.done; next = iterator.next()) {
            const v = next.value;
            tally.variants++;
            const metadata: Record<string, string> = { sha256: sha256(v.data), filename: `${v.source}-${v.index}${kind === 'nifti' ? '.nii.gz' : '.dcm'}` };
            if (kind === 'nifti') Object.assign(metadata, { patientId: 'FUZZ', patientName: 'Fuzz^Nifti' });
            let outcome = await uploadOnce(v.data, metadata);
            if ('network' in outcome) {
              // The server went away under this upload: a crash if it is gone, else a dropped connection.
              await new Promise((r) => setTimeout(r, 500));
              if (!server || starting) {
                tally.crashes++;
                tally.failures.push(`${describeVariant(v, SEED)}: server crashed (${outcome.network})`);
                await startServer();
                continue;
              }
              outcome = await uploadOnce(v.data, metadata);
              if ('network' in outcome) {
                tally.failures.push(`${describeVariant(v, SEED)}: connection failed twice (${outcome.network})`);
                continue;
              }
            }
            const { status, body } = outcome;
            const error = (body as { error?: { code?: string; message?: string; details?: { reason?: string } } } | null)?.error;
            if (status === 200) {
              const items = (body as { result?: { items?: { instanceId: string; format: 'dicom' | 'nifti'; duplicate: boolean }[] } }).result?.items ?? [];
              for (const item of items) {
                const problem = await verifyStoredInstance(db, item.instanceId, v.data, item.format, item.duplicate);
                if (problem) tally.failures.push(`${describeVariant(v, SEED)}: ${problem}`);
                if (item.duplicate) tally.duplicates++;
                else tally.stored++;
              }
              if (items.length === 0) tally.failures.push(`${describeVariant(v, SEED)}: 200 without an item`);
            } else if (status >= 400 && status < 500 && error?.code && error.message) {
              const key = `${status} ${error.code}${error.details?.reason ? `/${error.details.reason}` : ''}`;
              tally.refused[key] = (tally.refused[key] ?? 0) + 1;
            } else {
              if (status >= 500) tally.serverErrors++;
              tally.failures.push(`${describeVariant(v, SEED)}: ${status} ${JSON.stringify(body).slice(0, 300)}`);
            }
            if (++completed % 500 === 0) console.log(`[fuzz] ${kind}: ${completed} done (${((performance.now() - kindStarted) / 1000).toFixed(0)} s)`);
          }
        }),
      );
      console.log(`[fuzz] ${formatTally(kind, tally)} in ${((performance.now() - kindStarted) / 1000).toFixed(0)} s`);
    }

    // Hostile ids in URLs, through Next's router and the real handlers.
    const hostileIds = ['..%2F..%2F..%2Fetc%2Fpasswd', '..%5C..%5Cwindows%5Cwin.ini', '%00', 'a%00b', '..', '%2e%2e%2f%2e%2e', '00000000-0000-0000-0000-000000000000%2F..%2F..'];
    const urlResults: Record<string, number> = {};
    let urlFailures = 0;
    for (const id of hostileIds) {
      for (const [method, route] of [
        ['GET', `/api/uploads/${id}`],
        ['GET', `/api/instances/${id}/file`],
        ['GET', `/api/studies/${id}`],
        ['GET', `/api/studies/${id}/image`],
        ['HEAD', `/api/upload/${id}`],
        ['PATCH', `/api/upload/${id}`],
        ['DELETE', `/api/upload/${id}`],
      ] as const) {
        const res = await fetch(`${origin}${route}`, {
          method,
          headers: { ...auth, 'Tus-Resumable': '1.0.0', 'Upload-Offset': '0', 'Content-Type': 'application/offset+octet-stream' },
          body: method === 'PATCH' ? 'x' : undefined,
        }).catch(() => null);
        const status = res?.status ?? 0;
        urlResults[status] = (urlResults[status] ?? 0) + 1;
        if (status < 400 || status >= 500) {
          urlFailures++;
          console.error(`[fuzz] ${method} ${route} answered ${status}`);
        }
      }
    }
    console.log(`[fuzz] hostile ids in URLs: ${Object.entries(urlResults).map(([s, n]) => `${s}: ${n}`).join(', ')}`);

    // Bombs and worker limits against the production build (worker chunks bundled by Turbopack).
    const { gzipBomb, deflateBomb, rawZip, manyElementsDicom } = await import('../lib/testing/fuzz/bombs');
    const { nifti1Header } = await import('../lib/nifti/test-helpers');
    const { studyFixture } = await import('../lib/testing/study-fixture');
    const limitFailures: string[] = [];
    const timed = async (label: string, data: Buffer, expect: (status: number, reason: string | undefined) => boolean) => {
      const pid = server!.pid!;
      const before = rssOf(pid);
      let peak = before;
      const timer = setInterval(() => (peak = Math.max(peak, rssOf(pid))), 5);
      const t0 = performance.now();
      const outcome = await uploadOnce(data, { sha256: sha256(data), filename: label });
      const ms = performance.now() - t0;
      clearInterval(timer);
      const status = 'status' in outcome ? outcome.status : 0;
      const error = 'body' in outcome ? (outcome.body as { error?: { code?: string; details?: { reason?: string } } } | null)?.error : undefined;
      const ok = expect(status, error?.details?.reason ?? error?.code);
      console.log(`[fuzz] ${label} (${(data.length / 1024 / 1024).toFixed(1)} MB): ${status} ${error?.code ?? ''}${error?.details?.reason ? `/${error.details.reason}` : ''} in ${ms.toFixed(0)} ms (upload included), server RSS +${((peak - before) / 1024 / 1024).toFixed(1)} MB${ok ? '' : '  <-- UNEXPECTED'}`);
      if (!ok) limitFailures.push(label);
    };
    const GiB = 1024 ** 3;
    await timed('nii.gz bomb: 16^3 header + 8 GiB of zeros', gzipBomb(nifti1Header({ dims: [16, 16, 16], datatype: 4, bitpix: 16 }), 8 * GiB).data, (s, r) => s === 422 && r === 'trailing_data');
    const kernel = deflateBomb(Buffer.alloc(0), 960 * 1024 * 1024);
    await timed('zip bomb: 10 overlapping entries declaring 9.4 GiB', rawZip([{ name: 'a.dcm', deflated: kernel }, ...Array.from({ length: 9 }, (_, i) => ({ name: `b${i}.dcm`, deflated: kernel, sameDataAs: 0 }))]), (s) => s === 413);
    await timed('zip entry declaring 1 MiB, inflating to 4 GiB', rawZip([{ name: 'a.dcm', deflated: deflateBomb(Buffer.alloc(0), 4 * GiB), declared: { size: 1024 * 1024 } }]), (s) => s === 413 || s === 422);
    await restartServer({ INGEST_WORKER_MEMORY_MB: '48' });
    await timed('300,000-element DICOM, INGEST_WORKER_MEMORY_MB=48', manyElementsDicom(300_000), (s, r) => s === 422 && r === 'parse_memory_limit');
    await timed('a valid file after that', studyFixture('mr_small_explicit_le').data, (s) => s === 200);
    await restartServer({ INGEST_PARSE_TIMEOUT_MS: '1' });
    await timed('a valid file, INGEST_PARSE_TIMEOUT_MS=1', studyFixture('ct_small_explicit_le').data, (s, r) => s === 422 && r === 'parse_timeout');
    await restartServer({});
    await timed('a valid file with the default limits', studyFixture('ct_small_explicit_le').data, (s) => s === 200);

    const all = [...tallies.dicom.failures, ...tallies.nifti.failures, ...limitFailures.map((l) => `limit check failed: ${l}`)];
    const totalMs = performance.now() - started;
    console.log(`\n[fuzz] SUMMARY (seed ${SEED}, ${((totalMs / 1000) / 60).toFixed(1)} min, ${((tallies.dicom.variants + tallies.nifti.variants) / (totalMs / 1000)).toFixed(1)} uploads/s, server peak RSS ${(peakRss / 1024 / 1024).toFixed(0)} MB)`);
    console.log(`[fuzz] ${formatTally('DICOM', tallies.dicom)}`);
    console.log(`[fuzz] ${formatTally('NIfTI', tallies.nifti)}`);
    console.log(`[fuzz] server process exits: ${serverExits}; hostile URL ids answered outside 4xx: ${urlFailures}`);
    for (const f of all.slice(0, 50)) console.error(`[fuzz] FAILED ${f}`);
    failed = all.length > 0 || serverExits > 0 || urlFailures > 0;
  } finally {
    expectedStop = true;
    server?.kill();
    for (const c of cleanups) await c();
  }
  process.exit(failed ? 1 : 0);
}

main().catch((error) => {
  console.error(error);
  expectedStop = true;
  server?.kill();
  process.exit(1);
});
