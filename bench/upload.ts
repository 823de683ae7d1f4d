/**
 * Upload and ingest benchmark (issue: ingest). Run with `npm run bench`.
 *
 * - Upload throughput of a generated 1 GiB file through the real server's tus endpoint, next to
 *   a plain node:http server writing the same bytes to the same disk, measured in the same run.
 * - Server RSS growth during that upload (target: under 150 MB).
 * - Ingest rate for a generated 200-slice CT series, as one zip and as 200 separate uploads.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import yazl from 'yazl';
import { openDatabase } from '../db';
import { insertApiToken } from '../db/queries/api-tokens';
import { generateApiTokenSecret } from '../lib/auth/tokens';
import { makeSeries } from '../lib/testing/dicom-series';
import { mb, mbps, rssOf, sampleRss, startNext, waitForHttp, writeBigNifti } from './support';

const SIZE = Number(process.env.BENCH_UPLOAD_BYTES ?? 1024 ** 3);
const PORT = 3210;
const BASELINE_PORT = 3211;

function streamPut(url: string, file: string, headers: Record<string, string>, method = 'PATCH'): Promise<{ sentMs: number; doneMs: number; status: number; body: string }> {
  const started = performance.now();
  const size = statSync(file).size;
  return new Promise((resolve, reject) => {
    let sentMs = 0;
    const req = http.request(url, { method, headers: { ...headers, 'Content-Length': String(size) } }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ sentMs, doneMs: performance.now() - started, status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.on('finish', () => (sentMs = performance.now() - started));
    createReadStream(file, { highWaterMark: 1024 * 1024 }).pipe(req);
  });
}

/** The baseline: the simplest correct node:http upload to disk (write, fsync), in its own process. */
function startBaseline(dir: string) {
  const script = `
    const http = require('node:http'), fs = require('node:fs'), path = require('node:path');
    let n = 0;
    http.createServer((req, res) => {
      const file = path.join(${JSON.stringify(dir)}, 'baseline-' + (n++));
      const out = fs.createWriteStream(file);
      req.pipe(out);
      out.on('finish', () => fs.open(file, 'r+', (e, fd) => fs.fsync(fd, () => fs.close(fd, () => { res.writeHead(204); res.end(); }))));
    }).listen(${BASELINE_PORT}, '127.0.0.1', () => console.log('baseline ready'));`;
  return spawn('node', ['-e', script], { stdio: ['ignore', 'inherit', 'inherit'] });
}

async function tusCreate(base: string, token: string, size: number, metadata: Record<string, string>): Promise<string> {
  const res = await fetch(`${base}/api/upload`, {
    method: 'POST',
    headers: {
      'Tus-Resumable': '1.0.0',
      'Upload-Length': String(size),
      'Upload-Metadata': Object.entries(metadata).map(([k, v]) => `${k} ${Buffer.from(v).toString('base64')}`).join(','),
      Authorization: `Bearer ${token}`,
    },
  });
  if (res.status !== 201) throw new Error(`create failed: ${res.status} ${await res.text()}`);
  return new URL(res.headers.get('location')!, `${base}/api/upload`).toString();
}

async function tusSend(url: string, token: string, data: Buffer): Promise<Response> {
  return fetch(url, {
    method: 'PATCH',
    headers: { 'Tus-Resumable': '1.0.0', 'Upload-Offset': '0', 'Content-Type': 'application/offset+octet-stream', Authorization: `Bearer ${token}` },
    body: new Uint8Array(data),
  });
}

async function main() {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'imaging-bench-'));
  const dataDir = path.join(tmp, 'data');
  process.env.DATA_DIR = dataDir;
  const databaseUrl = process.env.BENCH_DATABASE_URL;
  const cleanup: (() => void)[] = [() => rmSync(tmp, { recursive: true, force: true })];
  try {
    // An API token for the benchmark client, written before the server (and its PGlite) opens.
    const handle = await openDatabase({ url: databaseUrl, dataDir });
    const secret = generateApiTokenSecret();
    await insertApiToken(handle.db, { name: 'bench', tokenHash: secret.hash, prefix: secret.prefix, role: 'clinician', scopes: ['studies:read', 'studies:write'] });
    await handle.close();

    const big = path.join(tmp, 'big.nii');
    const size = await writeBigNifti(big, SIZE);
    console.log(`\n[bench] generated ${mb(size)} NIfTI volume`);

    const baseline = startBaseline(tmp);
    cleanup.push(() => baseline.kill());
    await new Promise((r) => setTimeout(r, 500));
    const base = await streamPut(`http://127.0.0.1:${BASELINE_PORT}/`, big, {}, 'PUT');
    if (base.status !== 204) throw new Error(`baseline failed: ${base.status}`);
    rmSync(path.join(tmp, 'baseline-0'));

    const server = startNext(PORT, { DATA_DIR: dataDir, AUTH_SECRET: 'bench-secret-0123456789abcdefghijklmnopqrstuv', ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}) });
    cleanup.push(() => server.kill());
    const origin = `http://127.0.0.1:${PORT}`;
    await waitForHttp(`${origin}/api/health`);
    const idleRss = rssOf(server.pid!);

    const url = await tusCreate(origin, secret.secret, size, { filename: 'big.nii', patientName: 'Bench^Volume' });
    const sampler = sampleRss(server.pid!);
    const tus = await streamPut(url, big, { 'Tus-Resumable': '1.0.0', 'Upload-Offset': '0', 'Content-Type': 'application/offset+octet-stream', Authorization: `Bearer ${secret.secret}` });
    const peakRss = sampler.stop();
    if (tus.status !== 200) throw new Error(`tus upload failed: ${tus.status} ${tus.body}`);

    // 200-slice CT series from the corpus's CT image, each slice its own SOP instance.
    const ct = path.resolve('lib/dicom/__fixtures__/ct_small_explicit_le.dcm');
    const manifest = JSON.parse(readFileSync(path.resolve('lib/dicom/__fixtures__/manifest.json'), 'utf8')) as { files: { id: string; reference: { tags: Record<string, string> } }[] };
    const tags = manifest.files.find((f) => f.id === 'ct_small_explicit_le')!.reference.tags;
    const uids = { study: tags.StudyInstanceUID!, series: tags.SeriesInstanceUID!, sop: tags.SOPInstanceUID! };
    const zipSeries = makeSeries(readFileSync(ct), uids, 200);
    const zip = new yazl.ZipFile();
    zipSeries.files.forEach((f, i) => zip.addBuffer(f, `CT/IM${i}.dcm`));
    zip.end();
    const chunks: Buffer[] = [];
    for await (const c of zip.outputStream as AsyncIterable<Buffer>) chunks.push(c);
    const zipData = Buffer.concat(chunks);
    const zipUrl = await tusCreate(origin, secret.secret, zipData.length, { filename: 'ct.zip', sha256: createHash('sha256').update(zipData).digest('hex') });
    const zipStarted = performance.now();
    const zipRes = await tusSend(zipUrl, secret.secret, zipData);
    const zipMs = performance.now() - zipStarted;
    const zipBody = (await zipRes.json()) as { result?: { instances: number } };
    if (zipBody.result?.instances !== 200) throw new Error(`zip ingest stored ${zipBody.result?.instances} of 200`);

    const fileSeries = makeSeries(readFileSync(ct), uids, 200);
    const filesStarted = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (next < fileSeries.files.length) {
          const data = fileSeries.files[next++]!;
          const u = await tusCreate(origin, secret.secret, data.length, { filename: 'slice.dcm' });
          const res = await tusSend(u, secret.secret, data);
          if (res.status !== 200) throw new Error(`slice upload failed: ${res.status}`);
        }
      }),
    );
    const filesMs = performance.now() - filesStarted;

    const ratio = base.sentMs / tus.sentMs;
    console.log('\n[bench] upload (1 file, single PATCH, loopback)');
    console.table({
      'node:http write to disk (baseline)': { bytes: mb(size), 'transfer ms': Math.round(base.sentMs), throughput: mbps(size, base.sentMs) },
      'tus /api/upload': { bytes: mb(size), 'transfer ms': Math.round(tus.sentMs), throughput: mbps(size, tus.sentMs) },
    });
    console.log(`[bench] tus throughput / baseline: ${(ratio * 100).toFixed(0)}% (target >= 70%)`);
    console.log(`[bench] tus total incl. sha256 check + ingest of the 1 GiB volume: ${Math.round(tus.doneMs)} ms`);
    console.log(`[bench] server RSS: idle ${mb(idleRss)}, peak during upload+ingest ${mb(peakRss)}, growth ${mb(peakRss - idleRss)} (target < 150 MB)`);
    console.log('\n[bench] ingest of a 200-slice CT series');
    console.table({
      'one zip (200 entries)': { 'ms': Math.round(zipMs), 'instances/s': (200 / (zipMs / 1000)).toFixed(1) },
      '200 uploads, 4 at a time': { 'ms': Math.round(filesMs), 'instances/s': (200 / (filesMs / 1000)).toFixed(1) },
    });
  } finally {
    for (const fn of cleanup.reverse()) fn();
  }
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
