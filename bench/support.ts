import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import { once } from 'node:events';

/** Resident set size of a process in bytes, from /proc (Linux). */
export function rssOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return kb * 1024;
}

/** Samples a process's RSS until stopped; returns the peak. */
export function sampleRss(pid: number, everyMs = 50) {
  let peak = rssOf(pid);
  const timer = setInterval(() => {
    try {
      peak = Math.max(peak, rssOf(pid));
    } catch {
      // The process is gone; keep the last peak.
    }
  }, everyMs);
  return { stop: () => (clearInterval(timer), peak) };
}

export const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
export const mbps = (bytes: number, ms: number) => `${(bytes / 1024 / 1024 / (ms / 1000)).toFixed(1)} MB/s`;

/** The 352-byte header of a NIfTI-1 int16 volume whose voxels follow (for volumes streamed, not held). */
export function int16NiftiHeader(nx: number, ny: number, nz: number): Buffer {
  const header = Buffer.alloc(352);
  header.writeInt32LE(348, 0);
  header.writeInt16LE(3, 40);
  header.writeInt16LE(nx, 42);
  header.writeInt16LE(ny, 44);
  header.writeInt16LE(nz, 46);
  for (let i = 4; i < 8; i++) header.writeInt16LE(1, 40 + i * 2);
  header.writeInt16LE(4, 70);
  header.writeInt16LE(16, 72);
  for (let i = 0; i < 4; i++) header.writeFloatLE(1, 76 + i * 4);
  header.writeFloatLE(352, 108);
  header.writeFloatLE(1, 112);
  header.writeUInt8(2, 123);
  header.write('n+1\0', 344, 'latin1');
  return header;
}

/** Streams a valid NIfTI-1 int16 volume of about `bytes` to disk without holding it in memory. */
export async function writeBigNifti(file: string, bytes: number): Promise<number> {
  const nx = 512;
  const ny = 512;
  const sliceBytes = nx * ny * 2;
  const nz = Math.max(1, Math.floor((bytes - 352) / sliceBytes));
  const header = int16NiftiHeader(nx, ny, nz);
  const out = createWriteStream(file);
  out.write(header);
  const slice = Buffer.alloc(sliceBytes);
  for (let z = 0; z < nz; z++) {
    // Vary each slice a little so nothing downstream can shortcut identical data.
    slice.writeInt16LE(z, 0);
    if (!out.write(Buffer.from(slice))) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  return 352 + nz * sliceBytes;
}

export async function waitForHttp(url: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(url);
      if (res.ok) return;
    } catch {
      // Not up yet.
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${url} did not come up`);
}

export function startNext(port: number, env: Record<string, string>): ChildProcess {
  // BENCH_SERVER_NODE_ARGS go to the server's node only (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof` to profile it).
  const nodeArgs = (process.env.BENCH_SERVER_NODE_ARGS ?? '').split(/\s+/).filter(Boolean);
  return spawn('node', [...nodeArgs, 'node_modules/next/dist/bin/next', 'start', '-H', '127.0.0.1', '-p', String(port)], {
    env: { ...process.env, NODE_ENV: 'production', ...env },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
}
