/**
 * Imaging benchmark (issue 4, point 6). Run with `npm run bench`, or `npx tsx bench/imaging.ts`
 * after `npx next build --turbopack`. BENCH_SLICES (default 200) sets the series length.
 * The server runs as deployed, on PostgreSQL: BENCH_DATABASE_URL, or else a scratch database
 * on the local server (TEST_DATABASE_ADMIN_URL, dropped afterwards); BENCH_DATABASE=pglite (or
 * no PostgreSQL) runs it on embedded PGlite instead.
 *
 * Two 512×512 CT series of BENCH_SLICES slices with the same pixels: uncompressed (Explicit VR
 * Little Endian) and JPEG Lossless SV1 (made with dcmtk's dcmcjpeg).
 *
 * 1. In process: read + decode + render (file window) + PNG, one thread, then through the image
 *    worker pool with as many workers as the server uses.
 * 2. Over HTTP, cold: every slice exactly once (file window, full-size PNG), next to Orthanc's
 *    /instances/{id}/preview (full-size PNG) of the same files, 8 concurrent clients each, two
 *    ways: GET /api/studies/{id}/image?size=512, rendered on demand (read, decode, window, PNG
 *    per request, as Orthanc does), and GET /api/studies/{id}/image, the default view that
 *    processing rendered and stored (read from storage per request). Every answer's
 *    X-Image-Rendition is checked against the line it counts for. No image is requested twice
 *    per line, so nothing comes from a cache. The servers take turns in rounds of a quarter of
 *    the series (alternating the order) so that load from elsewhere on the machine falls on all
 *    alike. Reported: images/s, p50/p99 latency, server CPU time per image (all threads, from
 *    /proc, plus our PostgreSQL backends) split into request thread / other threads / database,
 *    bytes, and ratios to Orthanc for throughput and for CPU per image.
 * 3. Warm extra lines: the same slices again, ours with other windows: the second request of a
 *    frame decodes it again and keeps it in the frame cache (which admits frames on their second
 *    request), the third renders and encodes the cached frame; Orthanc the same previews again.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import { openDatabase } from '../db';
import { insertApiToken } from '../db/queries/api-tokens';
import { generateApiTokenSecret } from '../lib/auth/tokens';
import { decodeDicomFrame, renderDecoded } from '../lib/imaging/dicom-image';
import { encodeImage } from '../lib/imaging/encode';
import { createImagePool } from '../lib/imaging/image-pool';
import type { ImageTask } from '../lib/imaging/image-tasks';
import { uidFromUuid } from '../lib/ingest/uid';
import { syntheticCtSlice } from '../lib/testing/synthetic-ct';
import { startNext, waitForHttp } from './support';

const SLICES = Number(process.env.BENCH_SLICES ?? 200);
const WARMUP_SLICES = 16;
const PORT = 3220;
const ORTHANC_PORT = 8142;
const CONCURRENCY = 8;
const ROUNDS = 4;
// Full size, but not the default query: rendered on demand rather than read from the stored default view.
const ON_DEMAND = '&size=512';
const WORKERS = Number(process.env.IMAGE_WORKERS ?? os.availableParallelism());

const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** User + system CPU time of a process and its descendants, in ms (Linux /proc, 100 ticks/s). */
function cpuMs(pid: number): number {
  const fields = (p: number) => readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1]!.split(' ');
  let total = 0;
  const visit = (p: number) => {
    const f = fields(p);
    total += (Number(f[11]) + Number(f[12])) * 10;
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        if (Number(fields(Number(entry))[1]) === p) visit(Number(entry));
      } catch {
        // Gone meanwhile.
      }
    }
  };
  visit(pid);
  return total;
}

/** The database the server runs on, and the CPU its own processes spend (PostgreSQL backends). */
async function benchDatabase(cleanup: (() => void | Promise<void>)[]): Promise<{ url?: string; label: string; cpuMs: () => Promise<number> }> {
  const none = { label: 'embedded PGlite (in the server process)', cpuMs: async () => 0 };
  if (process.env.BENCH_DATABASE === 'pglite') return none;
  let url = process.env.BENCH_DATABASE_URL;
  const adminUrl = url ?? process.env.TEST_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {}, connect_timeout: 5 });
  try {
    if (!url) {
      const name = `imaging_bench_${Date.now()}`;
      await admin.unsafe(`create database "${name}"`);
      const scratch = new URL(adminUrl);
      scratch.pathname = `/${name}`;
      url = scratch.toString();
    }
  } catch (error) {
    await admin.end();
    console.log(`[bench] no PostgreSQL (${(error as Error).message}): the server runs on embedded PGlite`);
    return none;
  }
  const scratchName = process.env.BENCH_DATABASE_URL ? null : new URL(url).pathname.slice(1);
  cleanup.push(async () => {
    if (scratchName) await admin.unsafe(`drop database if exists "${scratchName}" with (force)`);
    await admin.end();
  });
  const database = new URL(url).pathname.slice(1);
  return {
    url,
    label: `PostgreSQL (${database}); its backends' CPU counted with the server's`,
    cpuMs: async () => {
      // Only the local server's backends can be read from /proc.
      const rows = await admin<{ pid: number }[]>`select pid from pg_stat_activity where datname = ${database}`;
      return rows.reduce((sum, { pid }) => {
        try {
          return sum + cpuMs(pid);
        } catch {
          return sum;
        }
      }, 0);
    },
  };
}

/** CPU time of a process's main thread alone, in ms (its request handling, as opposed to its workers). */
function mainThreadCpuMs(pid: number): number {
  const f = readFileSync(`/proc/${pid}/task/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(f[11]) + Number(f[12])) * 10;
}

interface Series {
  label: string;
  files: string[];
  warmup: string[];
}

function makeSeries(dir: string, count: number, jpegLossless: boolean): string[] {
  mkdirSync(dir, { recursive: true });
  const studyUid = uidFromUuid();
  const seriesUid = uidFromUuid();
  return Array.from({ length: count }, (_, i) => {
    const file = path.join(dir, `IM${String(i).padStart(4, '0')}.dcm`);
    const slice = syntheticCtSlice({ size: 512, index: i, studyUid, seriesUid, sopUid: uidFromUuid() });
    if (!jpegLossless) {
      writeFileSync(file, slice);
      return file;
    }
    writeFileSync(`${file}.raw`, slice);
    execFileSync('dcmcjpeg', ['+el', `${file}.raw`, file]);
    rmSync(`${file}.raw`);
    return file;
  });
}

async function inProcessSingleThread(files: string[]): Promise<number> {
  const started = performance.now();
  for (const file of files) {
    const decoded = await decodeDicomFrame(new Uint8Array(readFileSync(file)), 0);
    const { image } = renderDecoded(decoded, {});
    await encodeImage(image, { format: 'png' });
  }
  return files.length / ((performance.now() - started) / 1000);
}

async function inProcessPool(pool: ReturnType<typeof createImagePool>, files: string[], warmup: string[]): Promise<number> {
  const task = (file: string): ImageTask => ({ kind: 'render-dicom', path: file, frame: 0, window: null, invert: false, format: 'png' });
  await Promise.all(warmup.map((f) => pool.run(task(f)))); // start the workers
  const started = performance.now();
  await Promise.all(files.map((f) => pool.run(task(f))));
  return files.length / ((performance.now() - started) / 1000);
}

interface Load {
  latencies: number[];
  seconds: number;
  bytes: number;
  cpuMs: number;
  /** Of cpuMs: the server's main thread, and the database server's backends. */
  mainCpuMs: number;
  dbCpuMs: number;
  sample?: Buffer;
}

async function load(
  urls: string[],
  headers: Record<string, string>,
  pid: number,
  extraCpuMs: () => Promise<number> = async () => 0,
  /** Our X-Image-Rendition every answer must carry, so that each line measures what it says. */
  rendition?: 'on-demand' | 'pre-rendered',
): Promise<Load> {
  const latencies: number[] = [];
  let bytes = 0;
  let sample: Buffer | undefined;
  let next = 0;
  const mainBefore = mainThreadCpuMs(pid);
  const dbBefore = await extraCpuMs();
  const cpuBefore = cpuMs(pid);
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < urls.length) {
        const url = urls[next++]!;
        const t0 = performance.now();
        const res = await fetch(url, { headers });
        if (!res.ok) throw new Error(`${url}: ${res.status} ${await res.text()}`);
        if (rendition && res.headers.get('x-image-rendition') !== rendition) throw new Error(`${url}: served ${res.headers.get('x-image-rendition')}, not ${rendition}`);
        const body = Buffer.from(await res.arrayBuffer());
        latencies.push(performance.now() - t0);
        bytes += body.length;
        sample ??= body;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const processCpu = cpuMs(pid) - cpuBefore;
  const mainCpuMs = mainThreadCpuMs(pid) - mainBefore;
  const dbCpuMs = (await extraCpuMs()) - dbBefore;
  return { latencies, seconds, bytes, cpuMs: processCpu + dbCpuMs, mainCpuMs, dbCpuMs, sample };
}

function merge(loads: Load[]): Load {
  return {
    latencies: loads.flatMap((l) => l.latencies),
    seconds: loads.reduce((s, l) => s + l.seconds, 0),
    bytes: loads.reduce((s, l) => s + l.bytes, 0),
    cpuMs: loads.reduce((s, l) => s + l.cpuMs, 0),
    mainCpuMs: loads.reduce((s, l) => s + l.mainCpuMs, 0),
    dbCpuMs: loads.reduce((s, l) => s + l.dbCpuMs, 0),
    sample: loads[0]?.sample,
  };
}

interface Target {
  name: string;
  pid: number;
  headers: Record<string, string>;
  /** CPU the target spends outside its own process tree (its database server). */
  extraCpuMs?: () => Promise<number>;
  rendition?: 'on-demand' | 'pre-rendered';
}

/** Each target gets every URL of its list once; they take turns, in rounds. */
async function interleaved(targets: { target: Target; urls: string[] }[]): Promise<Load[]> {
  const results = targets.map(() => [] as Load[]);
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? targets.map((_, i) => i) : targets.map((_, i) => targets.length - 1 - i);
    for (const i of order) {
      const { target, urls } = targets[i]!;
      const size = Math.ceil(urls.length / ROUNDS);
      results[i]!.push(await load(urls.slice(round * size, (round + 1) * size), target.headers, target.pid, target.extraCpuMs, target.rendition));
    }
  }
  return results.map(merge);
}

function pngInfo(png: Buffer | undefined): string {
  if (!png || png.readUInt32BE(0) !== 0x89504e47) return 'not a PNG';
  const colour = { 0: 'grey', 2: 'RGB', 3: 'palette', 4: 'grey+alpha', 6: 'RGBA' }[png[25]!] ?? '?';
  return `${png.readUInt32BE(16)}×${png.readUInt32BE(20)} ${png[24]}-bit ${colour}`;
}

function row(l: Load) {
  const sorted = [...l.latencies].sort((a, b) => a - b);
  return {
    'images/s': (l.latencies.length / l.seconds).toFixed(1),
    'p50 ms': percentile(sorted, 50).toFixed(1),
    'p99 ms': percentile(sorted, 99).toFixed(1),
    'server CPU ms/image': (l.cpuMs / l.latencies.length).toFixed(1),
    // Where that CPU went: request thread / image workers and other threads / database backends.
    'main/other/db': [l.mainCpuMs, l.cpuMs - l.mainCpuMs - l.dbCpuMs, l.dbCpuMs].map((ms) => (ms / l.latencies.length).toFixed(1)).join(' / '),
    'KB/image': (l.bytes / l.latencies.length / 1024).toFixed(1),
    output: pngInfo(l.sample),
  };
}

async function tusUpload(origin: string, token: string, data: Buffer): Promise<{ studyId: string }> {
  const created = await fetch(`${origin}/api/upload`, {
    method: 'POST',
    headers: { 'Tus-Resumable': '1.0.0', 'Upload-Length': String(data.length), Authorization: `Bearer ${token}` },
  });
  const url = new URL(created.headers.get('location')!, `${origin}/api/upload`).toString();
  const res = await fetch(url, {
    method: 'PATCH',
    headers: { 'Tus-Resumable': '1.0.0', 'Upload-Offset': '0', 'Content-Type': 'application/offset+octet-stream', Authorization: `Bearer ${token}` },
    body: new Uint8Array(data),
  });
  if (res.status !== 200) throw new Error(`upload failed ${res.status}`);
  return (await res.json()) as { studyId: string };
}

/** Waits until the processing jobs of the studies are done, so that they do not run during the measurement. */
async function processed(origin: string, auth: Record<string, string>, studyIds: string[]): Promise<void> {
  const deadline = Date.now() + 10 * 60_000;
  for (const id of studyIds) {
    for (;;) {
      const { study } = (await (await fetch(`${origin}/api/studies/${id}`, { headers: auth })).json()) as { study: { status: string; jobs: { status: string }[] } };
      if (study.status !== 'processing' && study.jobs.every((j) => j.status === 'succeeded' || j.status === 'failed')) break;
      if (Date.now() > deadline) throw new Error(`study ${id} is still processing`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

function startOrthanc(dir: string): ChildProcess {
  const storage = path.join(dir, 'orthanc');
  mkdirSync(storage);
  const config = path.join(dir, 'orthanc.json');
  // Orthanc's defaults (50 HTTP threads, no storage compression), on a port of its own.
  writeFileSync(
    config,
    JSON.stringify({ Name: 'bench', HttpPort: ORTHANC_PORT, DicomServerEnabled: false, StorageDirectory: storage, IndexDirectory: storage, RemoteAccessAllowed: false, AuthenticationEnabled: false, HttpThreadsCount: 50 }),
  );
  return spawn('Orthanc', [config], { stdio: 'ignore' });
}

async function main() {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'imaging-bench-img-'));
  const cleanup: (() => void | Promise<void>)[] = [() => rmSync(tmp, { recursive: true, force: true })];
  try {
    const withJpeg = has('dcmcjpeg');
    const series: Series[] = [{ label: 'uncompressed (Explicit VR LE)', files: makeSeries(path.join(tmp, 'raw'), SLICES, false), warmup: makeSeries(path.join(tmp, 'raw-warmup'), WARMUP_SLICES, false) }];
    if (withJpeg) {
      series.push({
        label: 'JPEG Lossless SV1 (.4.70)',
        files: makeSeries(path.join(tmp, 'jpl'), SLICES, true),
        warmup: makeSeries(path.join(tmp, 'jpl-warmup'), WARMUP_SLICES, true),
      });
    } else {
      console.log('[bench] dcmcjpeg not installed (apt-get install dcmtk): JPEG Lossless skipped');
    }

    console.log(`\n[bench] decode + render + PNG in process, ${SLICES} slices 512×512, ${os.availableParallelism()} CPUs`);
    const pool = createImagePool(Math.max(1, WORKERS));
    const inProcess: Record<string, Record<string, string>> = {};
    for (const s of series) {
      await inProcessSingleThread(s.warmup);
      inProcess[s.label] = {
        'one thread, images/s': (await inProcessSingleThread(s.files)).toFixed(1),
        [`${pool.size} image workers, images/s`]: (await inProcessPool(pool, s.files, s.warmup)).toFixed(1),
      };
    }
    await pool.close();
    console.table(inProcess);

    // The production server, with its data in a scratch directory.
    const dataDir = path.join(tmp, 'data');
    const database = await benchDatabase(cleanup);
    const databaseUrl = database.url;
    const handle = await openDatabase({ url: databaseUrl, dataDir });
    const secret = generateApiTokenSecret();
    await insertApiToken(handle.db, { name: 'bench', tokenHash: secret.hash, prefix: secret.prefix, role: 'clinician', scopes: ['studies:read', 'studies:write'] });
    await handle.close();
    const server = startNext(PORT, { DATA_DIR: dataDir, AUTH_SECRET: 'bench-secret-0123456789abcdefghijklmnopqrstuv', ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}) });
    cleanup.push(() => void server.kill());
    const origin = `http://127.0.0.1:${PORT}`;
    await waitForHttp(`${origin}/api/health`);
    const auth = { Authorization: `Bearer ${secret.secret}` };
    const studies = new Map<Series, { main: string; warmup: string }>();
    for (const s of series) {
      let main = '';
      let warmup = '';
      for (const file of s.files) main = (await tusUpload(origin, secret.secret, readFileSync(file))).studyId;
      for (const file of s.warmup) warmup = (await tusUpload(origin, secret.secret, readFileSync(file))).studyId;
      studies.set(s, { main, warmup });
    }
    await processed(origin, auth, [...studies.values()].flatMap((s) => [s.main, s.warmup]));
    const ours: Target = { name: 'ours', pid: server.pid!, headers: auth, extraCpuMs: database.cpuMs, rendition: 'on-demand' };
    const oursStored: Target = { ...ours, name: 'ours, pre-rendered', rendition: 'pre-rendered' };
    const ourUrls = (studyId: string, count: number, extra = '') => Array.from({ length: count }, (_, i) => `${origin}/api/studies/${studyId}/image?index=${i}${extra}`);

    let orthanc: Target | null = null;
    const orthancIds = new Map<Series, { main: string[]; warmup: string[] }>();
    if (has('Orthanc')) {
      const child = startOrthanc(tmp);
      cleanup.push(() => void child.kill());
      await waitForHttp(`http://127.0.0.1:${ORTHANC_PORT}/system`);
      const store = async (files: string[]) => {
        const ids: string[] = [];
        for (const file of files) {
          const res = await fetch(`http://127.0.0.1:${ORTHANC_PORT}/instances`, { method: 'POST', body: new Uint8Array(readFileSync(file)) });
          ids.push(((await res.json()) as { ID: string }).ID);
        }
        return ids;
      };
      for (const s of series) orthancIds.set(s, { main: await store(s.files), warmup: await store(s.warmup) });
      orthanc = { name: 'Orthanc', pid: child.pid!, headers: {} };
    } else {
      console.log('[bench] Orthanc not installed (apt-get install orthanc): no baseline in this run');
    }
    const previewUrls = (ids: string[]) => ids.map((id) => `http://127.0.0.1:${ORTHANC_PORT}/instances/${id}/preview`);

    const summary: string[] = [];
    for (const s of series) {
      const ids = studies.get(s)!;
      const oids = orthancIds.get(s);
      // Warm-up on other images: JIT, workers, codecs, connections.
      await load(ourUrls(ids.warmup, WARMUP_SLICES, ON_DEMAND), auth, ours.pid);
      await load(ourUrls(ids.warmup, WARMUP_SLICES), auth, ours.pid);
      if (orthanc && oids) await load(previewUrls(oids.warmup), {}, orthanc.pid);

      // The default view (file window, full size, PNG) is stored by processing: a request for it
      // reads that file. Any other parameter renders on demand; size=512 (full size) asks for
      // the same pixels rendered now, which is what Orthanc does for every preview.
      const targets = [
        { target: ours, urls: ourUrls(ids.main, SLICES, ON_DEMAND) },
        { target: oursStored, urls: ourUrls(ids.main, SLICES) },
      ];
      if (orthanc && oids) targets.push({ target: orthanc, urls: previewUrls(oids.main) });
      const [cold, stored, orthancCold] = await interleaved(targets);
      // Second request of each frame: decoded again and admitted to the frame cache; third: from the cache.
      const second = await load(ourUrls(ids.main, SLICES, '&window=350&level=50'), auth, ours.pid, database.cpuMs);
      const warm = await load(ourUrls(ids.main, SLICES, '&window=1500&level=-600'), auth, ours.pid, database.cpuMs);
      const orthancWarm = orthanc && oids ? await load(previewUrls(oids.main), {}, orthanc.pid) : null;

      const table: Record<string, ReturnType<typeof row>> = {
        'ours: /api/studies/{id}/image?size=512, rendered on demand, cold': row(cold!),
        'ours: /api/studies/{id}/image, pre-rendered default view': row(stored!),
        ...(orthancCold ? { 'Orthanc: /instances/{id}/preview, cold': row(orthancCold) } : {}),
        'ours, 2nd request (new window; decoded again, frame cached)': row(second),
        'ours, 3rd request (new window; frame from the cache)': row(warm),
        ...(orthancWarm ? { 'Orthanc, warm (same previews again)': row(orthancWarm) } : {}),
      };
      console.log(`\n[bench] ${s.label}: ${SLICES} distinct images, ${CONCURRENCY} concurrent clients, ${ROUNDS} alternating rounds; our database: ${database.label}`);
      console.table(table);
      if (orthancCold) {
        const rate = (l: Load) => l.latencies.length / l.seconds;
        const cpu = (l: Load) => l.cpuMs / l.latencies.length;
        for (const [label, l] of [
          ['rendered on demand (cold)', cold!],
          ['pre-rendered default view', stored!],
        ] as const) {
          const line = `[bench] ${s.label}: ours ${label} / Orthanc preview = ${(rate(l) / rate(orthancCold)).toFixed(2)}× its throughput (${rate(l).toFixed(1)} vs ${rate(orthancCold).toFixed(1)} images/s), ${(cpu(orthancCold) / cpu(l)).toFixed(2)}× its CPU efficiency (${cpu(l).toFixed(1)} vs ${cpu(orthancCold).toFixed(1)} ms/image)`;
          console.log(line);
          summary.push(line);
        }
      }
    }
    if (summary.length) console.log(`\n${summary.join('\n')}`);
  } finally {
    for (const fn of cleanup.reverse()) await fn();
  }
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
