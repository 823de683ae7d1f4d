/**
 * Faults soak (issue 8, points 2 and 3), against the production server (`next start`) on a
 * private PostgreSQL cluster that this script starts, kills and restarts. Run with `npm run soak`
 * (which builds first). Scenarios, each printing its figures and failing the run on a broken
 * promise:
 *
 * A. 50 uploads interrupted at random offsets: client aborts, connection resets and the server
 *    SIGKILLed mid-upload and restarted. Every upload finishes byte-identical (the server's
 *    sha256 against the client's, and the stored object's), offsets never go backwards, two
 *    writers on one upload get a 423, and nothing is orphaned (rows, tus files, objects).
 * B. PostgreSQL killed for 30 s under load: answers are 503 with Retry-After (never 500), every
 *    200 carrying patient data has its audit row, and the same server process recovers by itself.
 * C. The server started while PostgreSQL is down: it stays up, /api/health answers 503, and once
 *    PostgreSQL is there it serves, and its job worker and recovery run.
 * D. Disk full (a 64 MB tmpfs as DATA_DIR, root only): 507 insufficient_storage while receiving
 *    and while ingesting; the upload resumes and finishes byte-identical once space is back.
 *
 * Ports: SOAK_FAULT_PORT (default 3240, C uses +1, D +2), SOAK_FAULT_PG_PORT (default 5441).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from '@playwright/test';
import postgres from 'postgres';
import { openDatabase } from '../db';
import { insertApiToken } from '../db/queries/api-tokens';
import { generateApiTokenSecret } from '../lib/auth/tokens';
import { tusCreate, tusOffset, tusPatch, uploadWithFaults, type TusTarget } from '../lib/testing/fault-client';
import { createPrivatePostgres, privatePostgresAvailable, type PrivatePostgres } from '../lib/testing/private-postgres';
import { randomNiftiVolume } from '../lib/testing/nifti-volume';

const PORT = Number(process.env.SOAK_FAULT_PORT ?? 3240);
const PG_PORT = Number(process.env.SOAK_FAULT_PG_PORT ?? 5441);
const UPLOADS = Number(process.env.SOAK_FAULT_UPLOADS ?? 50);
const OUTAGE_MS = Number(process.env.SOAK_OUTAGE_SECONDS ?? 30) * 1000;
const AUTH_SECRET = randomBytes(32).toString('base64');

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');
const failures: string[] = [];
function check(ok: boolean, message: string): void {
  if (!ok) {
    failures.push(message);
    console.log(`  FAIL ${message}`);
  }
}

/** A NIfTI volume of about `bytes` that no other upload has (random voxels). */
function volume(bytes: number): Buffer {
  return randomNiftiVolume(bytes, 128);
}

interface App {
  port: number;
  dataDir: string;
  databaseUrl: string;
  child: ChildProcess | null;
  log: string[];
}

/** The server's own output goes to a log file (its path is printed), not into the report. */
function spawnApp(app: App): void {
  const log = openSync(path.join(os.tmpdir(), `soak-faults-server-${app.port}.log`), 'a');
  app.child = spawn('node', ['node_modules/next/dist/bin/next', 'start', '-H', '127.0.0.1', '-p', String(app.port)], {
    env: { ...process.env, NODE_ENV: 'production', DATABASE_URL: app.databaseUrl, DATA_DIR: app.dataDir, AUTH_SECRET, AUTH_URL: `http://127.0.0.1:${app.port}`, AUTH_TRUST_HOST: 'true' },
    stdio: ['ignore', log, log],
  });
  closeSync(log);
}

async function waitHealthy(app: App, timeoutMs = 120_000): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    try {
      const res = await fetch(`http://127.0.0.1:${app.port}/api/health`);
      if (res.ok) return Date.now() - started;
    } catch {
      // Not listening yet.
    }
    await sleep(200);
  }
  throw new Error(`server on ${app.port} did not become healthy`);
}

async function killApp(app: App, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  const child = app.child;
  if (!child || child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill(signal);
  await exited;
  app.child = null;
}

async function makeToken(databaseUrl: string): Promise<string> {
  const handle = await openDatabase({ url: databaseUrl, dataDir: os.tmpdir() });
  const generated = generateApiTokenSecret();
  await insertApiToken(handle.db, { name: 'soak', tokenHash: generated.hash, prefix: generated.prefix, role: 'clinician', scopes: ['studies:read', 'studies:write', 'dicomweb:read', 'segmentation'] });
  await handle.close();
  return generated.secret;
}

function dirFiles(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir) : [];
}

async function sql<T>(url: string, fn: (q: postgres.Sql) => Promise<T>): Promise<T> {
  const q = postgres(url, { max: 1, onnotice: () => {} });
  try {
    return await fn(q);
  } finally {
    await q.end({ timeout: 2 });
  }
}

// ---------------------------------------------------------------------------------------------

async function scenarioUploads(app: App, token: string): Promise<void> {
  console.log(`\nA. ${UPLOADS} uploads interrupted at random offsets (client abort, connection reset, server SIGKILL + restart)`);
  const target = (): TusTarget => ({ base: `http://127.0.0.1:${app.port}`, token });
  const kinds = { abort: 0, reset: 0, kill: 0 };
  const restartMs: number[] = [];
  let interruptions = 0;
  let retries = 0;
  let locked = 0;
  let bytes = 0;
  const started = Date.now();
  const finished: { id: string; sha: string }[] = [];
  for (let n = 0; n < UPLOADS; n++) {
    const data = volume(1024 * 1024 + Math.floor(Math.random() * 3 * 1024 * 1024));
    bytes += data.length;
    try {
      const report = await uploadWithFaults(target, data, {
        interruptions: 2,
        chooseInterruption: (i) => {
          const kind = (['abort', 'reset', 'kill'] as const)[(n * 2 + i) % 3]!;
          kinds[kind]++;
          if (kind !== 'kill') return { kind };
          return {
            kind: 'reset',
            onCut: async () => {
              await killApp(app);
              const t = Date.now();
              spawnApp(app);
              await waitHealthy(app);
              restartMs.push(Date.now() - t);
            },
          };
        },
        timeoutMs: 240_000,
      });
      interruptions += report.interruptions;
      retries += report.retries;
      locked += report.statuses.filter((s) => s === 423).length;
      const summary = report.final.body as { id: string; status: string; sha256: string };
      check(report.final.status === 200 && summary.status === 'ready', `upload ${n}: finished with ${report.final.status} ${JSON.stringify(report.final.body).slice(0, 200)}`);
      check(summary.sha256 === sha256(data), `upload ${n}: server sha256 ${summary.sha256} != client ${sha256(data)}`);
      finished.push({ id: summary.id, sha: sha256(data) });
    } catch (error) {
      check(false, `upload ${n}: ${(error as Error).message}`);
    }
  }
  const elapsed = (Date.now() - started) / 1000;

  // Stored copies byte-identical (NIfTI is stored as sent).
  const rows = await sql(app.databaseUrl, (q) => q<{ id: string; sha256: string; storage_key: string; status: string }[]>`
    select u.id, u.sha256, u.status, i.storage_key from uploads u
    join instances i on i.series_id in (select s.id from series s where s.study_id = u.study_id)
    where u.id = any(${finished.map((f) => f.id)}::uuid[])`);
  let identical = 0;
  for (const f of finished) {
    const row = rows.find((r) => r.id === f.id);
    const file = row ? path.join(app.dataDir, 'objects', row.storage_key.slice(0, 2), row.storage_key) : null;
    if (row && file && existsSync(file) && sha256(readFileSync(file)) === f.sha && row.sha256 === f.sha) identical++;
  }
  check(identical === UPLOADS, `${identical}/${UPLOADS} stored objects byte-identical`);

  // Two writers on one upload: one is refused with 423.
  const data = volume(8 * 1024 * 1024);
  const url = await tusCreate(target(), data);
  const [a, b] = await Promise.all([tusPatch(target(), url, data, 0), sleep(50).then(() => tusPatch(target(), url, data, 0))]);
  const statuses = [a?.status, b?.status].sort();
  check(statuses.includes(423) && (statuses.includes(200) || statuses.includes(204)), `two writers: answered ${statuses.join(', ')} (expected one 423)`);
  const after = await tusOffset(target(), url);
  check(after?.offset === data.length, `two writers: the upload holds ${after?.offset} of ${data.length} bytes`);
  console.log(`  two concurrent PATCHes on one upload answered ${statuses.join(' and ')}`);

  // No orphans, after the boot sweep of a restart.
  await killApp(app);
  spawnApp(app);
  await waitHealthy(app);
  await sleep(3000);
  const open = await sql(app.databaseUrl, (q) => q<{ n: number }[]>`select count(*)::int as n from uploads where status in ('receiving', 'processing')`);
  const leftovers = dirFiles(path.join(app.dataDir, 'uploads'));
  const pending = dirFiles(path.join(app.dataDir, 'objects', 'pending'));
  const unreferenced = await sql(app.databaseUrl, async (q) => {
    const keys = new Set((await q<{ k: string }[]>`select storage_key as k from instances union select browser_storage_key from instances where browser_storage_key is not null`).map((r) => r.k));
    let orphans = 0;
    for (const shard of dirFiles(path.join(app.dataDir, 'objects')).filter((s) => /^[0-9a-f]{2}$/.test(s))) {
      for (const name of dirFiles(path.join(app.dataDir, 'objects', shard))) if (!keys.has(name)) orphans++;
    }
    return orphans;
  });
  check(open[0]!.n === 0, `${open[0]!.n} upload rows left receiving/processing`);
  check(leftovers.length === 0, `tus files left in uploads/: ${leftovers.join(', ')}`);
  check(pending.length === 0, `${pending.length} pending object markers left`);
  check(unreferenced === 0, `${unreferenced} stored objects referenced by no instance`);
  const restartAvg = restartMs.length ? restartMs.reduce((s, v) => s + v, 0) / restartMs.length / 1000 : 0;
  console.log(
    `  ${finished.length}/${UPLOADS} finished, ${identical} byte-identical (${(bytes / 1024 / 1024).toFixed(0)} MB); ${interruptions} interruptions: ${kinds.abort} client aborts, ${kinds.reset} connection resets, ${kinds.kill} server kills (restart to healthy ${restartAvg.toFixed(1)} s on average); ` +
      `${retries} resume retries, ${locked} answers 423 while a dead request still held an upload; offsets never went backwards; ${elapsed.toFixed(0)} s`,
  );
  console.log(`  after a restart: ${open[0]!.n} open upload rows, ${leftovers.length} tus files, ${pending.length} pending objects, ${unreferenced} unreferenced objects`);
}

// ---------------------------------------------------------------------------------------------

interface Sample {
  at: number;
  path: string;
  status: number;
  retryAfter: string | null;
  agent: string;
  patientData: boolean;
  ms: number;
}

async function scenarioOutage(app: App, pg: PrivatePostgres, token: string): Promise<void> {
  console.log(`\nB. PostgreSQL killed for ${OUTAGE_MS / 1000} s while the server is under requests`);
  const base = `http://127.0.0.1:${app.port}`;
  const target: TusTarget = { base, token };
  const data = volume(512 * 1024);
  const url = await tusCreate(target, data, { patientName: 'Outage^Test', patientId: 'OUT-1' });
  const done = await tusPatch(target, url, data, 0);
  const studyId = (JSON.parse(done!.text) as { studyId: string }).studyId;
  const pid = app.child!.pid;
  const paths: { path: string; patientData: boolean }[] = [
    { path: '/api/studies', patientData: true },
    { path: `/api/studies/${studyId}`, patientData: true },
    { path: `/api/studies/${studyId}/viewer`, patientData: true },
    { path: `/api/studies/${studyId}/image?size=64`, patientData: true },
    { path: '/api/health', patientData: false },
  ];
  const samples: Sample[] = [];
  let stop = false;
  let seq = 0;
  const t0 = Date.now();
  const worker = async (w: number) => {
    while (!stop) {
      const p = paths[(seq + w) % paths.length]!;
      const agent = `soak-outage-${seq++}`;
      const sent = Date.now();
      try {
        const res = await fetch(`${base}${p.path}`, { headers: { Authorization: `Bearer ${token}`, 'User-Agent': agent }, signal: AbortSignal.timeout(20_000) });
        await res.arrayBuffer();
        samples.push({ at: Date.now() - t0, path: p.path, status: res.status, retryAfter: res.headers.get('retry-after'), agent, patientData: p.patientData, ms: Date.now() - sent });
      } catch {
        samples.push({ at: Date.now() - t0, path: p.path, status: 0, retryAfter: null, agent, patientData: p.patientData, ms: Date.now() - sent });
      }
      await sleep(50);
    }
  };
  const workers = [0, 1, 2, 3].map(worker);
  await sleep(5000);
  const downAt = Date.now() - t0;
  pg.stop('immediate');
  // A browser on a page that needs the database: a clear outage page, then the page by itself.
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu'] });
  const page = await browser.newPage();
  const shots = path.join('test-results', 'soak');
  mkdirSync(shots, { recursive: true });
  let outagePage = 'not checked';
  let pageStatus = 0;
  try {
    await sleep(2000);
    pageStatus = (await page.goto(`${base}/sign-in`))?.status() ?? 0;
    await page.getByRole('heading', { name: 'Service temporarily unavailable' }).waitFor({ timeout: 15_000 });
    outagePage = (await page.getByTestId('service-error').innerText()).replace(/\s+/g, ' ');
    await page.screenshot({ path: path.join(shots, 'outage-page.png') });
  } catch (error) {
    check(false, `outage page: ${(error as Error).message.split('\n')[0]}`);
  }
  check(pageStatus === 503, `the page answered ${pageStatus} during the outage (expected 503)`);
  await sleep(Math.max(0, OUTAGE_MS - (Date.now() - t0 - downAt)));
  pg.start();
  const upAt = Date.now() - t0;
  // Until every path answers 200 again (without touching the server), then a little more.
  let recoveredAt: number | null = null;
  while (Date.now() - t0 < upAt + 60_000) {
    await sleep(500);
    const recent = samples.filter((s) => s.at > (Date.now() - t0) - 1500);
    if (recent.length >= paths.length && recent.every((s) => s.status === 200)) {
      recoveredAt = recent[0]!.at;
      break;
    }
  }
  let pageBack = false;
  try {
    // The outage page reloads itself every 5 s; with no account yet, /sign-in leads to /setup.
    await page.getByRole('heading', { name: /Sign in|Create the administrator account/ }).waitFor({ timeout: 30_000 });
    pageBack = true;
    await page.screenshot({ path: path.join(shots, 'after-outage-page.png') });
  } catch {
    check(false, 'the outage page did not come back to the real page by itself');
  }
  await browser.close();
  await sleep(3000);
  stop = true;
  await Promise.all(workers);

  const during = samples.filter((s) => s.at > downAt + 1000 && s.at < upAt);
  const byStatus = (list: Sample[]) => list.reduce<Record<number, number>>((m, s) => ((m[s.status] = (m[s.status] ?? 0) + 1), m), {});
  const unavailable = during.filter((s) => s.status === 503);
  check(during.length > 0, 'no requests were answered during the outage');
  check(during.every((s) => s.status === 503), `during the outage answers were ${JSON.stringify(byStatus(during))} (expected only 503)`);
  check(unavailable.every((s) => s.retryAfter !== null && Number(s.retryAfter) > 0), '503 without Retry-After');
  check(samples.every((s) => s.status !== 500 && s.status !== 0), `some answers were 500 or no answer: ${JSON.stringify(byStatus(samples.filter((s) => s.status === 500 || s.status === 0)))}`);
  check(recoveredAt !== null, 'the server did not recover within 60 s of PostgreSQL returning');
  check(app.child?.pid === pid && app.child?.exitCode === null, 'the server process was restarted or died');

  // Every 200 with patient data has its audit row (matched by the request's unique user agent).
  const served = samples.filter((s) => s.patientData && s.status === 200);
  const audited = await sql(app.databaseUrl, (q) => q<{ user_agent: string }[]>`select user_agent from audit_log where outcome = 'success' and user_agent like 'soak-outage-%'`);
  const agents = new Set(audited.map((r) => r.user_agent));
  const missing = served.filter((s) => !agents.has(s.agent));
  check(missing.length === 0, `${missing.length} responses with patient data have no audit row (${missing.slice(0, 3).map((m) => m.path).join(', ')})`);

  // The job worker recovered too: a new upload gets processed.
  const fresh = volume(256 * 1024);
  const url2 = await tusCreate(target, fresh);
  const res2 = await tusPatch(target, url2, fresh, 0);
  const study2 = (JSON.parse(res2!.text) as { studyId: string }).studyId;
  let processed = false;
  for (let i = 0; i < 60 && !processed; i++) {
    await sleep(1000);
    const res = await fetch(`${base}/api/studies/${study2}`, { headers: { Authorization: `Bearer ${token}` } });
    const body = (await res.json()) as { study?: { status?: string } };
    processed = body.study?.status === 'processed';
  }
  check(processed, 'a study uploaded after the outage was not processed (job worker did not recover)');
  console.log(
    `  ${samples.length} requests; during the outage ${during.length}: ${JSON.stringify(byStatus(during))}, all with Retry-After: ${unavailable.every((s) => s.retryAfter)}, answered in at most ${Math.max(0, ...during.map((s) => s.ms))} ms; ` +
      `recovered ${recoveredAt === null ? 'never' : `${((recoveredAt - upAt) / 1000).toFixed(1)} s`} after PostgreSQL returned, same process (pid ${pid}); ` +
      `${served.length} answers with patient data, ${served.length - missing.length} with their audit row; job worker processed a new study after the outage: ${processed}`,
  );
  console.log(`  browser: /sign-in answered ${pageStatus} and showed "${outagePage}"; it came back to the real page by itself: ${pageBack} (screenshots in ${shots}/)`);
}

// ---------------------------------------------------------------------------------------------

async function scenarioBootWithoutDatabase(pg: PrivatePostgres, databaseUrl: string, token: string): Promise<void> {
  console.log('\nC. The server started while PostgreSQL is down');
  const app: App = { port: PORT + 1, dataDir: mkdtempSync(path.join(os.tmpdir(), 'soak-boot-')), databaseUrl, child: null, log: [] };
  pg.stop('immediate');
  spawnApp(app);
  const t0 = Date.now();
  const health: { status: number; retryAfter: string | null }[] = [];
  while (Date.now() - t0 < 15_000) {
    try {
      const res = await fetch(`http://127.0.0.1:${app.port}/api/health`);
      health.push({ status: res.status, retryAfter: res.headers.get('retry-after') });
    } catch {
      // Not listening yet.
    }
    await sleep(500);
  }
  const alive = app.child?.exitCode === null;
  check(alive, 'the server exited while the database was down');
  check(health.length > 0 && health.every((h) => h.status === 503 && h.retryAfter !== null), `health while down: ${JSON.stringify(health.slice(0, 5))}`);
  pg.start();
  const up = Date.now();
  let recovered = false;
  try {
    await waitHealthy(app, 60_000);
    recovered = true;
  } catch {
    // Reported below.
  }
  check(recovered, 'the server did not become healthy after PostgreSQL started');
  // The worker started once the database came: an upload gets processed.
  const target: TusTarget = { base: `http://127.0.0.1:${app.port}`, token };
  const data = volume(256 * 1024);
  const url = await tusCreate(target, data);
  const res = await tusPatch(target, url, data, 0);
  const studyId = (JSON.parse(res!.text) as { studyId: string }).studyId;
  let processed = false;
  for (let i = 0; i < 60 && !processed; i++) {
    await sleep(1000);
    const r = await fetch(`${target.base}/api/studies/${studyId}`, { headers: { Authorization: `Bearer ${token}` } });
    processed = ((await r.json()) as { study?: { status?: string } }).study?.status === 'processed';
  }
  check(processed, 'the job worker of a server started without its database never ran');
  console.log(`  alive while down: ${alive}; /api/health answered ${health.length}× 503 with Retry-After; healthy ${((Date.now() - up) / 1000).toFixed(1)} s after PostgreSQL started; job worker processed an upload: ${processed}`);
  await killApp(app, 'SIGTERM');
  rmSync(app.dataDir, { recursive: true, force: true });
}

// ---------------------------------------------------------------------------------------------

async function scenarioDiskFull(pg: PrivatePostgres, token: string): Promise<void> {
  console.log('\nD. Disk full: a 64 MB tmpfs as DATA_DIR');
  if (process.getuid?.() !== 0) {
    console.log('  SKIPPED: mounting a tmpfs needs root');
    return;
  }
  const mountPoint = mkdtempSync(path.join(os.tmpdir(), 'soak-diskfull-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64m', 'tmpfs', mountPoint]);
  pg.createDatabase('imaging_diskfull');
  const app: App = { port: PORT + 2, dataDir: mountPoint, databaseUrl: pg.url('imaging_diskfull'), child: null, log: [] };
  const diskToken = await makeToken(app.databaseUrl);
  void token;
  const filler = path.join(mountPoint, 'filler');
  const free = () => Number(execFileSync('df', ['-B1', '--output=avail', mountPoint]).toString().trim().split('\n').pop());
  try {
    spawnApp(app);
    await waitHealthy(app);
    const target: TusTarget = { base: `http://127.0.0.1:${app.port}`, token: diskToken };
    // 1. Full while receiving.
    const data = volume(20 * 1024 * 1024);
    const url = await tusCreate(target, data);
    writeFileSync(filler, Buffer.alloc(Math.max(0, free() - 6 * 1024 * 1024)));
    const full = await tusPatch(target, url, data, 0);
    check(full?.status === 507, `receiving on a full disk answered ${full?.status} ${full?.text}`);
    check(full?.text.includes('insufficient_storage') ?? false, 'no insufficient_storage code');
    check(Boolean(full?.headers['retry-after']), '507 without Retry-After');
    const stopped = await tusOffset(target, url);
    rmSync(filler);
    const resumed = await tusPatch(target, url, data, stopped!.offset!);
    const summary = resumed ? (JSON.parse(resumed.text) as { status?: string; sha256?: string }) : {};
    check(resumed?.status === 200 && summary.sha256 === sha256(data), `resume after space came back: ${resumed?.status} ${resumed?.text.slice(0, 200)}`);
    console.log(`  while receiving: PATCH answered ${full?.status} (${full?.text.includes('insufficient_storage') ? 'insufficient_storage' : '?'}, Retry-After ${full?.headers['retry-after']}) at offset ${stopped?.offset} of ${data.length}; after freeing space it resumed there and finished ${resumed?.status}, sha256 ${summary.sha256 === sha256(data) ? 'identical' : 'DIFFERENT'}`);

    // 2. Full while ingesting: the bytes arrived, the copy into storage does not fit.
    const data2 = volume(16 * 1024 * 1024);
    const url2 = await tusCreate(target, data2);
    const first = await tusPatch(target, url2, data2, 0, { cutAt: data2.length - 1024, interruption: 'abort' });
    void first;
    await sleep(500);
    const at = await tusOffset(target, url2);
    writeFileSync(filler, Buffer.alloc(Math.max(0, free() - (data2.length - at!.offset!) - 2 * 1024 * 1024)));
    const ingestFull = await tusPatch(target, url2, data2, at!.offset!);
    check(ingestFull?.status === 507, `ingesting on a full disk answered ${ingestFull?.status} ${ingestFull?.text.slice(0, 200)}`);
    const head2 = await tusOffset(target, url2);
    check(head2?.offset === data2.length, `after a 507 in ingest HEAD answers ${head2?.offset} of ${data2.length}`);
    rmSync(filler);
    const retried = await tusPatch(target, url2, data2, data2.length);
    const summary2 = retried ? (JSON.parse(retried.text) as { status?: string; sha256?: string }) : {};
    check(retried?.status === 200 && summary2.sha256 === sha256(data2), `ingest retry after space came back: ${retried?.status} ${retried?.text.slice(0, 200)}`);
    console.log(`  while ingesting: the final PATCH answered ${ingestFull?.status}, the bytes were kept (HEAD ${head2?.offset}/${data2.length}); after freeing space the repeated final PATCH answered ${retried?.status}, sha256 ${summary2.sha256 === sha256(data2) ? 'identical' : 'DIFFERENT'}`);
  } finally {
    await killApp(app, 'SIGTERM');
    execFileSync('umount', ['-l', mountPoint]);
    rmSync(mountPoint, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const unavailable = privatePostgresAvailable();
  if (unavailable) {
    console.log(`[soak:faults] SKIPPED: ${unavailable}`);
    return;
  }
  if (!existsSync('.next/BUILD_ID')) throw new Error('no production build: run `npx next build --turbopack` first (npm run soak does)');
  const pg = createPrivatePostgres(PG_PORT);
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'soak-faults-'));
  mkdirSync(dataDir, { recursive: true });
  const app: App = { port: PORT, dataDir, databaseUrl: pg.url('imaging'), child: null, log: [] };
  const cleanup = () => {
    if (app.child && app.child.exitCode === null) app.child.kill('SIGKILL');
    pg.destroy();
    rmSync(dataDir, { recursive: true, force: true });
  };
  process.once('SIGINT', () => {
    cleanup();
    process.exit(130);
  });
  try {
    pg.start();
    pg.createDatabase('imaging');
    console.log(`[soak:faults] private PostgreSQL on 127.0.0.1:${PG_PORT}, server on ${PORT} (its log: ${path.join(os.tmpdir(), `soak-faults-server-${PORT}.log`)})`);
    const token = await makeToken(app.databaseUrl);
    spawnApp(app);
    await waitHealthy(app);
    const only = process.env.SOAK_FAULT_ONLY?.split(',');
    if (!only || only.includes('A')) await scenarioUploads(app, token);
    if (!only || only.includes('B')) await scenarioOutage(app, pg, token);
    await killApp(app, 'SIGTERM');
    if (!only || only.includes('C')) await scenarioBootWithoutDatabase(pg, app.databaseUrl, token);
    if (!only || only.includes('D')) await scenarioDiskFull(pg, token);
  } finally {
    await killApp(app);
    cleanup();
  }
  if (failures.length) {
    console.log(`\n[soak:faults] ${failures.length} failure(s):\n  ${failures.join('\n  ')}`);
    process.exit(1);
  }
  console.log('\n[soak:faults] all fault scenarios passed');
}

main().catch((error) => {
  console.error('[soak:faults] aborted:', error);
  process.exit(1);
});
