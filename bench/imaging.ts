/**
 * Decode/render benchmark (issue: processing). Run with `npm run bench`.
 *
 * - In-process decode + render + PNG encode throughput for a generated 200-slice 512×512 CT
 *   series, uncompressed and JPEG Lossless (made with dcmtk's dcmcjpeg when it is installed).
 * - GET /api/studies/{id}/image latency (p50/p99) and throughput under concurrent load against
 *   the production server, next to Orthanc's /instances/{id}/preview on the same files in the
 *   same run when Orthanc is installed (apt-get install orthanc dcmtk).
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openDatabase } from '../db';
import { insertApiToken } from '../db/queries/api-tokens';
import { generateApiTokenSecret } from '../lib/auth/tokens';
import { parseDicom, extractMetadata } from '../lib/dicom';
import { decodeFrame } from '../lib/imaging/decode';
import { fileWindow } from '../lib/imaging/dicom-image';
import { encodeImage } from '../lib/imaging/encode';
import { renderFrame } from '../lib/imaging/render';
import { uidFromUuid } from '../lib/ingest/uid';
import { syntheticCtSlice } from '../lib/testing/synthetic-ct';
import { startNext, waitForHttp } from './support';

const SLICES = Number(process.env.BENCH_SLICES ?? 200);
const PORT = 3220;
const CONCURRENCY = 8;
const REQUESTS = 400;

const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function renderAll(files: string[]): Promise<number> {
  const started = performance.now();
  for (const file of files) {
    const dataset = parseDicom(new Uint8Array(readFileSync(file)), { stopAtPixelData: false });
    const meta = extractMetadata(dataset);
    const frame = await decodeFrame(dataset, 0);
    const image = renderFrame(frame, { rescaleSlope: meta.rescaleSlope, rescaleIntercept: meta.rescaleIntercept, window: fileWindow(meta) });
    await encodeImage(image, { format: 'png' });
  }
  return files.length / ((performance.now() - started) / 1000);
}

async function load(urls: string[], headers: Record<string, string>) {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < urls.length) {
        const url = urls[next++]!;
        const t0 = performance.now();
        const res = await fetch(url, { headers });
        if (!res.ok) throw new Error(`${url}: ${res.status} ${await res.text()}`);
        await res.arrayBuffer();
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return { perSecond: urls.length / seconds, p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
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

async function main() {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'imaging-bench-img-'));
  const cleanup: (() => void)[] = [() => rmSync(tmp, { recursive: true, force: true })];
  try {
    const rawDir = path.join(tmp, 'raw');
    const jplDir = path.join(tmp, 'jpeg-lossless');
    mkdirSync(rawDir);
    mkdirSync(jplDir);
    const studyUid = uidFromUuid();
    const seriesUid = uidFromUuid();
    const raw: string[] = [];
    for (let i = 0; i < SLICES; i++) {
      const file = path.join(rawDir, `IM${i}.dcm`);
      writeFileSync(file, syntheticCtSlice({ size: 512, index: i, studyUid, seriesUid, sopUid: uidFromUuid() }));
      raw.push(file);
    }
    const jpl: string[] = [];
    if (has('dcmcjpeg')) {
      for (const file of raw) {
        const out = path.join(jplDir, path.basename(file));
        execFileSync('dcmcjpeg', ['+el', file, out]);
        jpl.push(out);
      }
    }

    console.log(`\n[bench] decode + render + PNG, in process, ${SLICES} slices 512×512`);
    const rows: Record<string, { 'images/s': string }> = { 'uncompressed (Explicit VR LE)': { 'images/s': (await renderAll(raw)).toFixed(1) } };
    if (jpl.length) rows['JPEG Lossless SV1 (1.2.840.10008.1.2.4.70)'] = { 'images/s': (await renderAll(jpl)).toFixed(1) };
    else rows['JPEG Lossless'] = { 'images/s': 'skipped: dcmcjpeg not installed (apt-get install dcmtk)' };
    console.table(rows);

    // The production server, on an embedded database in a scratch data directory.
    const dataDir = path.join(tmp, 'data');
    const databaseUrl = process.env.BENCH_DATABASE_URL;
    const handle = await openDatabase({ url: databaseUrl, dataDir });
    const secret = generateApiTokenSecret();
    await insertApiToken(handle.db, { name: 'bench', tokenHash: secret.hash, prefix: secret.prefix, role: 'clinician', scopes: ['studies:read', 'studies:write'] });
    await handle.close();
    const server = startNext(PORT, { DATA_DIR: dataDir, AUTH_SECRET: 'bench-secret-0123456789abcdefghijklmnopqrstuv', ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}) });
    cleanup.push(() => server.kill());
    const origin = `http://127.0.0.1:${PORT}`;
    await waitForHttp(`${origin}/api/health`);
    let studyId = '';
    for (const file of jpl.length ? jpl : raw) studyId = (await tusUpload(origin, secret.secret, readFileSync(file))).studyId;
    const auth = { Authorization: `Bearer ${secret.secret}` };
    const urls = Array.from({ length: REQUESTS }, (_, i) => `${origin}/api/studies/${studyId}/image?index=${i % SLICES}&level=${40 + (i % 7)}&window=400`);
    await load(urls.slice(0, 20), auth); // warm-up: compile routes, load codecs
    const app = await load(urls, auth);

    const results: Record<string, { 'images/s': string; 'p50 ms': string; 'p99 ms': string }> = {
      'GET /api/studies/{id}/image (PNG)': { 'images/s': app.perSecond.toFixed(1), 'p50 ms': app.p50.toFixed(1), 'p99 ms': app.p99.toFixed(1) },
    };

    if (has('Orthanc')) {
      const orthancDir = path.join(tmp, 'orthanc');
      mkdirSync(orthancDir);
      const config = path.join(tmp, 'orthanc.json');
      writeFileSync(
        config,
        JSON.stringify({ Name: 'bench', HttpPort: 8142, DicomPort: 4342, StorageDirectory: orthancDir, IndexDirectory: orthancDir, RemoteAccessAllowed: false, AuthenticationEnabled: false, HttpThreadsCount: 50 }),
      );
      const orthanc = spawn('Orthanc', [config], { stdio: 'ignore' });
      cleanup.push(() => orthanc.kill());
      await waitForHttp('http://127.0.0.1:8142/system');
      const ids: string[] = [];
      for (const file of jpl.length ? jpl : raw) {
        const res = await fetch('http://127.0.0.1:8142/instances', { method: 'POST', body: new Uint8Array(readFileSync(file)) });
        ids.push(((await res.json()) as { ID: string }).ID);
      }
      const previews = Array.from({ length: REQUESTS }, (_, i) => `http://127.0.0.1:8142/instances/${ids[i % ids.length]}/preview?x=${randomUUID()}`);
      await load(previews.slice(0, 20), {});
      const o = await load(previews, {});
      results['Orthanc /instances/{id}/preview (PNG)'] = { 'images/s': o.perSecond.toFixed(1), 'p50 ms': o.p50.toFixed(1), 'p99 ms': o.p99.toFixed(1) };
      console.log(`\n[bench] image endpoint, ${REQUESTS} requests, ${CONCURRENCY} concurrent, ${jpl.length ? 'JPEG Lossless' : 'uncompressed'} 512×512 CT`);
      console.table(results);
      console.log(`[bench] ours / Orthanc: ${((app.perSecond / o.perSecond) * 100).toFixed(0)}% of its throughput`);
    } else {
      console.log(`\n[bench] image endpoint, ${REQUESTS} requests, ${CONCURRENCY} concurrent`);
      console.table(results);
      console.log('[bench] Orthanc not installed (apt-get install orthanc): its published figure here is about 24 images/s');
    }
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
