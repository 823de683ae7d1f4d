/**
 * Soak: concurrent big uploads under browsing load (issue 8.8). Run with `npm run soak`.
 *
 * SOAK_UPLOADS (10) NIfTI volumes of SOAK_UPLOAD_BYTES (500 MB) each are uploaded at the same
 * time through the production server's tus endpoint, each with its sha256 in the upload metadata
 * (the server checks it before registering the study), while SOAK_BROWSERS (4) clients read the
 * worklist, a study and its images in a loop. Printed: the server's peak RSS (target < 512 MB),
 * its RSS as the bytes arrive (it must not grow with them), and the p50/p95/p99 latency of the
 * browsing requests during the run. Exits non-zero if an upload fails or a target is missed.
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import postgres from 'postgres';
import { openDatabase } from '../db';
import { insertApiToken } from '../db/queries/api-tokens';
import { generateApiTokenSecret } from '../lib/auth/tokens';
import { makeSeries } from '../lib/testing/dicom-series';
import { int16NiftiHeader, mb, rssOf, startNext, waitForHttp } from '../bench/support';

const UPLOADS = Number(process.env.SOAK_UPLOADS ?? 10);
const UPLOAD_BYTES = Number(process.env.SOAK_UPLOAD_BYTES ?? 500 * 1024 * 1024);
const BROWSERS = Number(process.env.SOAK_BROWSERS ?? 4);
const PORT = Number(process.env.SOAK_PORT ?? 3250);
const RSS_TARGET = 512 * 1024 * 1024;

const SLICE = 512 * 512 * 2;

/** A valid NIfTI-1 int16 volume, generated as it is read: upload `seed` differs in every slice. */
function niftiStream(seed: number, slices: number): Readable {
  const header = int16NiftiHeader(512, 512, slices);
  let z = -1;
  return new Readable({
    highWaterMark: SLICE,
    read() {
      if (z === -1) {
        z = 0;
        this.push(header);
        return;
      }
      if (z >= slices) {
        this.push(null);
        return;
      }
      const slice = Buffer.alloc(SLICE);
      slice.writeInt16LE(seed, 0);
      slice.writeInt16LE(z, 2);
      // A body-shaped disc so the volume renders as something.
      for (let y = 128; y < 384; y += 2) slice.writeInt16LE(400 + ((y + z) % 200), (y * 512 + 256) * 2);
      z++;
      this.push(slice);
    },
  });
}

async function sha256Of(stream: Readable): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of stream) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

function tusMetadata(values: Record<string, string>): string {
  return Object.entries(values)
    .map(([k, v]) => `${k} ${Buffer.from(v).toString('base64')}`)
    .join(',');
}

/**
 * One request on a connection of its own. Reused keep-alive sockets race the server's 5 s idle
 * close on a loaded machine (a request sent as the server hangs up fails with "other side
 * closed"): a client artefact that would otherwise end the run or land in the figures.
 */
function request(method: string, url: string, headers: Record<string, string>, body?: Buffer): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers: body ? { ...headers, 'Content-Length': String(body.length) } : headers, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function tusCreate(origin: string, token: string, size: number, metadata: Record<string, string>): Promise<string> {
  const res = await request('POST', `${origin}/api/upload`, { 'Tus-Resumable': '1.0.0', 'Upload-Length': String(size), 'Upload-Metadata': tusMetadata(metadata), Authorization: `Bearer ${token}` });
  if (res.status !== 201) throw new Error(`create failed: ${res.status} ${res.body}`);
  return new URL(res.headers.location!, `${origin}/api/upload`).toString();
}

/** One PATCH streaming the whole body, reporting bytes sent as they go. */
function tusPatch(url: string, token: string, size: number, body: Readable, onBytes: (n: number) => void): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, {
      method: 'PATCH',
      agent: false,
      headers: { 'Tus-Resumable': '1.0.0', 'Upload-Offset': '0', 'Content-Type': 'application/offset+octet-stream', 'Content-Length': String(size), Authorization: `Bearer ${token}` },
    });
    req.on('response', (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    body.on('data', (chunk: Buffer) => onBytes(chunk.length));
    body.pipe(req);
  });
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;

async function main() {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'imaging-soak-'));
  const dataDir = path.join(tmp, 'data');
  const cleanup: (() => Promise<void> | void)[] = [() => rmSync(tmp, { recursive: true, force: true })];
  try {
    let databaseUrl = process.env.SOAK_DATABASE_URL;
    if (!databaseUrl) {
      // A database of its own on the local PostgreSQL, dropped afterwards.
      const admin = new URL(process.env.TEST_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres');
      const name = `imaging_soak_${process.pid}`;
      const sql = postgres(admin.toString(), { max: 1, onnotice: () => {} });
      await sql.unsafe(`CREATE DATABASE ${name}`);
      cleanup.push(async () => {
        await sql.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        await sql.end();
      });
      admin.pathname = `/${name}`;
      databaseUrl = admin.toString();
    }
    const handle = await openDatabase({ url: databaseUrl, dataDir });
    const secret = generateApiTokenSecret();
    await insertApiToken(handle.db, { name: 'soak', tokenHash: secret.hash, prefix: secret.prefix, role: 'radiologist', scopes: ['studies:read', 'studies:write'] });
    await handle.close();

    const server = startNext(PORT, { DATA_DIR: dataDir, DATABASE_URL: databaseUrl, AUTH_SECRET: 'soak-secret-0123456789abcdefghijklmnopqrstuvw' });
    cleanup.push(() => void server.kill());
    // Whatever ends this script, the server goes with it (a stale one would hold the port).
    process.on('exit', () => server.kill('SIGKILL'));
    const origin = `http://127.0.0.1:${PORT}`;
    await waitForHttp(`${origin}/api/health`);
    const auth = { Authorization: `Bearer ${secret.secret}` };

    // Something to browse: a 20-slice CT series.
    const ct = readFileSync(path.resolve('lib/dicom/__fixtures__/ct_small_explicit_le.dcm'));
    const manifest = JSON.parse(readFileSync(path.resolve('lib/dicom/__fixtures__/manifest.json'), 'utf8')) as { files: { id: string; reference: { tags: Record<string, string> } }[] };
    const tags = manifest.files.find((f) => f.id === 'ct_small_explicit_le')!.reference.tags;
    const series = makeSeries(ct, { study: tags.StudyInstanceUID!, series: tags.SeriesInstanceUID!, sop: tags.SOPInstanceUID! }, 20);
    let browseStudy = '';
    for (const file of series.files) {
      const url = await tusCreate(origin, secret.secret, file.length, { filename: 'ct.dcm' });
      const res = await request('PATCH', url, { ...auth, 'Tus-Resumable': '1.0.0', 'Upload-Offset': '0', 'Content-Type': 'application/offset+octet-stream' }, file);
      if (res.status !== 200) throw new Error(`seed upload failed: ${res.status} ${res.body}`);
      browseStudy = (JSON.parse(res.body) as { studyId: string }).studyId;
    }

    const slices = Math.max(1, Math.floor((UPLOAD_BYTES - 352) / SLICE));
    const size = 352 + slices * SLICE;
    console.log(`[soak] ${UPLOADS} uploads of ${mb(size)} at once, ${BROWSERS} browsing clients, server pid ${server.pid}`);
    const checksums = await Promise.all(Array.from({ length: UPLOADS }, (_, i) => sha256Of(niftiStream(i, slices))));

    const idleRss = rssOf(server.pid!);
    let peakRss = idleRss;
    let sent = 0;
    const total = UPLOADS * size;
    // RSS at each tenth of the bytes: flat memory means these do not climb with the bytes.
    const byTenth: number[] = [];
    const sampler = setInterval(() => {
      try {
        const rss = rssOf(server.pid!);
        peakRss = Math.max(peakRss, rss);
        const tenth = Math.min(10, Math.floor((sent / total) * 10));
        byTenth[tenth] = Math.max(byTenth[tenth] ?? 0, rss);
      } catch {
        // The server died; the uploads will fail and say so.
      }
    }, 100);

    let browsing = true;
    const latencies: number[] = [];
    const browseErrors: string[] = [];
    const browsers = Array.from({ length: BROWSERS }, async (_, b) => {
      let i = b;
      while (browsing) {
        const urls = [`${origin}/api/studies?pageSize=25`, `${origin}/api/studies/${browseStudy}`, `${origin}/api/studies/${browseStudy}/image?index=${i % 20}&window=${400 + (i % 7)}&level=40`];
        for (const url of urls) {
          const started = performance.now();
          try {
            const { status } = await request('GET', url, auth);
            latencies.push(performance.now() - started);
            if (status !== 200) browseErrors.push(`${status} ${url}`);
          } catch (error) {
            const cause = (error as { code?: string }).code ?? String(error);
            browseErrors.push(`${cause} ${url}${server.exitCode !== null ? ` (server exited ${server.exitCode})` : ''}`);
          }
        }
        i++;
      }
    });

    const started = performance.now();
    const results = await Promise.all(
      Array.from({ length: UPLOADS }, async (_, i) => {
        const url = await tusCreate(origin, secret.secret, size, { filename: `soak-${i}.nii`, sha256: checksums[i]!, patientName: `Soak^Volume${i}`, modality: 'MR' });
        const res = await tusPatch(url, secret.secret, size, niftiStream(i, slices), (n) => (sent += n));
        return { i, ...res };
      }),
    );
    const uploadMs = performance.now() - started;
    browsing = false;
    await Promise.all(browsers);
    clearInterval(sampler);

    const failed = results.filter((r) => r.status !== 200);
    const sorted = [...latencies].sort((a, b) => a - b);
    console.table({
      uploads: { value: `${UPLOADS - failed.length} of ${UPLOADS} stored`, note: failed.map((f) => `#${f.i}: ${f.status} ${f.body.slice(0, 120)}`).join('; ') || 'sha256 verified by the server' },
      'bytes uploaded': { value: mb(total), note: `${((total / 1024 / 1024) / (uploadMs / 1000)).toFixed(1)} MB/s in all, ${(uploadMs / 1000).toFixed(0)} s` },
      'server RSS idle': { value: mb(idleRss), note: '' },
      'server RSS peak': { value: mb(peakRss), note: `target < ${mb(RSS_TARGET)}` },
      'browsing requests': { value: String(latencies.length), note: `${browseErrors.length} failed${browseErrors.length ? `: ${browseErrors.slice(0, 3).join(', ')}` : ''}` },
      'API latency p50': { value: `${percentile(sorted, 50).toFixed(0)} ms`, note: '' },
      'API latency p95': { value: `${percentile(sorted, 95).toFixed(0)} ms`, note: 'during the uploads' },
      'API latency p99': { value: `${percentile(sorted, 99).toFixed(0)} ms`, note: '' },
    });
    console.log(`[soak] peak RSS by tenth of the bytes uploaded: ${Array.from(byTenth, (r) => (r ? mb(r) : '-')).join(', ')}`);
    // Growth with bytes: the last tenths against the first ones (ingest of ten volumes at the end
    // is in the last tenth, so the comparison uses the middle of the run).
    const early = Math.max(byTenth[1] ?? 0, byTenth[2] ?? 0);
    const late = Math.max(byTenth[7] ?? 0, byTenth[8] ?? 0);
    console.log(`[soak] RSS at 70-90% of the bytes vs 10-30%: ${mb(late)} vs ${mb(early)} (${early ? ((late / early) * 100).toFixed(0) : '-'}%)`);

    const problems: string[] = [];
    if (failed.length) problems.push(`${failed.length} uploads failed`);
    if (browseErrors.length) problems.push(`${browseErrors.length} browsing requests failed`);
    if (peakRss > RSS_TARGET) problems.push(`peak RSS ${mb(peakRss)} over ${mb(RSS_TARGET)}`);
    if (early && late > early * 1.5 && late - early > 64 * 1024 * 1024) problems.push(`RSS grows with the bytes uploaded (${mb(early)} → ${mb(late)})`);
    if (problems.length) throw new Error(`[soak] ${problems.join('; ')}`);
    console.log('[soak] all targets met');
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
