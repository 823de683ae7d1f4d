import { createHash } from 'node:crypto';
import http from 'node:http';

/**
 * A raw tus client for fault tests: it can stop a PATCH part-way in the ways real clients and
 * networks do (the client aborts, the connection is reset), and it checks the protocol's promises
 * as it goes (an offset never goes backwards, never below what a 204 acknowledged).
 */

export type Interruption = 'abort' | 'reset' | 'none';

export interface TusTarget {
  base: string;
  token: string;
}

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

function request(
  url: string,
  method: string,
  headers: Record<string, string>,
  body?: { data: Buffer; cutAt?: number; interruption?: Interruption; onCut?: () => void },
): Promise<{ status: number; headers: http.IncomingHttpHeaders; text: string } | null> {
  return new Promise((resolve) => {
    const req = http.request(url, { method, headers, agent: false });
    let settled = false;
    const done = (value: { status: number; headers: http.IncomingHttpHeaders; text: string } | null) => {
      if (!settled) {
        settled = true;
        resolve(value);
      }
    };
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => done({ status: res.statusCode ?? 0, headers: res.headers, text }));
      res.on('error', () => done(null));
    });
    req.on('error', () => done(null));
    if (!body) {
      req.end();
      return;
    }
    const { data, cutAt = data.length, interruption = 'none' } = body;
    if (interruption === 'none') {
      req.end(data);
      return;
    }
    // Send the bytes before the cut in pieces, let them reach the server, then break off.
    let sent = 0;
    const step = 64 * 1024;
    const pump = () => {
      while (sent < cutAt) {
        const next = Math.min(cutAt, sent + step);
        const ok = req.write(data.subarray(sent, next));
        sent = next;
        if (!ok) {
          req.once('drain', pump);
          return;
        }
      }
      setTimeout(() => {
        body.onCut?.();
        if (interruption === 'reset') {
          const socket = req.socket as (typeof req.socket & { resetAndDestroy?: () => void }) | null;
          if (socket?.resetAndDestroy) socket.resetAndDestroy();
          else req.destroy(new Error('connection reset'));
        } else {
          req.destroy(new Error('client aborted'));
        }
        done(null);
      }, 30);
    };
    pump();
  });
}

const tusHeaders = (token: string, extra: Record<string, string> = {}) => ({ 'Tus-Resumable': '1.0.0', Authorization: `Bearer ${token}`, ...extra });

export async function tusCreate(target: TusTarget, data: Buffer, metadata: Record<string, string> = {}): Promise<string> {
  const meta = Object.entries({ sha256: sha256(data), ...metadata })
    .map(([k, v]) => `${k} ${Buffer.from(v).toString('base64')}`)
    .join(',');
  const res = await request(`${target.base}/api/upload`, 'POST', tusHeaders(target.token, { 'Upload-Length': String(data.length), 'Upload-Metadata': meta }));
  if (!res || res.status !== 201) throw new Error(`tus create answered ${res?.status ?? 'no response'}: ${res?.text ?? ''}`);
  return new URL(String(res.headers.location), target.base).toString();
}

/** HEAD: the server's offset, or null when it could not be reached (restarting) or answered 5xx/423. */
export async function tusOffset(target: TusTarget, url: string): Promise<{ status: number; offset: number | null; length: number | null } | null> {
  const res = await request(url, 'HEAD', tusHeaders(target.token));
  if (!res) return null;
  const offset = res.headers['upload-offset'];
  const length = res.headers['upload-length'];
  return { status: res.status, offset: offset === undefined ? null : Number(offset), length: length === undefined ? null : Number(length) };
}

export function tusPatch(
  target: TusTarget,
  url: string,
  data: Buffer,
  offset: number,
  options: { cutAt?: number; interruption?: Interruption; onCut?: () => void } = {},
) {
  const chunk = data.subarray(offset);
  return request(
    url,
    'PATCH',
    tusHeaders(target.token, { 'Upload-Offset': String(offset), 'Content-Type': 'application/offset+octet-stream', 'Content-Length': String(chunk.length) }),
    { data: chunk, cutAt: options.cutAt === undefined ? undefined : options.cutAt - offset, interruption: options.interruption, onCut: options.onCut },
  );
}

export interface FaultyUploadReport {
  interruptions: number;
  retries: number;
  /** Every status answered along the way (e.g. 423 while a dead request still held the upload). */
  statuses: number[];
  final: { status: number; body: unknown };
}

/**
 * Uploads `data`, breaking `interruptions` PATCHes off at random offsets (`chooseInterruption`
 * decides how, and may kill the server through `onCut`), resuming each time from HEAD. Throws if
 * an offset ever goes backwards or below what was acknowledged.
 */
export async function uploadWithFaults(
  target: () => TusTarget,
  data: Buffer,
  options: {
    interruptions: number;
    chooseInterruption: (n: number) => { kind: Exclude<Interruption, 'none'>; onCut?: () => void | Promise<void> };
    metadata?: Record<string, string>;
    random?: () => number;
    timeoutMs?: number;
  },
): Promise<FaultyUploadReport> {
  const random = options.random ?? Math.random;
  const deadline = Date.now() + (options.timeoutMs ?? 120_000);
  let url = '';
  for (;;) {
    try {
      url = await tusCreate(target(), data, options.metadata);
      break;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  const path = new URL(url).pathname;
  const at = () => `${target().base}${path}`;
  let acknowledged = 0;
  let highest = 0;
  let interruptions = 0;
  let retries = 0;
  const statuses: number[] = [];
  for (;;) {
    if (Date.now() > deadline) throw new Error(`upload ${path} did not finish in time (offset ${acknowledged}/${data.length})`);
    const head = await tusOffset(target(), at());
    if (!head || head.status !== 200 || head.offset === null) {
      if (head) statuses.push(head.status);
      retries++;
      await new Promise((r) => setTimeout(r, 200));
      continue;
    }
    if (head.offset < acknowledged) throw new Error(`offset went backwards: HEAD answered ${head.offset} after ${acknowledged} was acknowledged`);
    if (head.offset < highest) throw new Error(`offset went backwards: HEAD answered ${head.offset} after ${highest}`);
    highest = head.offset;
    const offset = head.offset;
    if (offset === data.length) {
      // Complete: repeating the final PATCH answers the outcome (idempotent), even after a crash.
      const res = await tusPatch(target(), at(), data, offset);
      if (!res || res.status === 423 || res.status >= 500) {
        if (res) statuses.push(res.status);
        retries++;
        await new Promise((r) => setTimeout(r, 300));
        continue;
      }
      statuses.push(res.status);
      return { interruptions, retries, statuses, final: { status: res.status, body: res.text ? JSON.parse(res.text) : null } };
    }
    if (interruptions < options.interruptions && data.length - offset > 2) {
      const cutAt = offset + 1 + Math.floor(random() * (data.length - offset - 2));
      const how = options.chooseInterruption(interruptions);
      let cut: Promise<void> | void = undefined;
      await tusPatch(target(), at(), data, offset, { cutAt, interruption: how.kind, onCut: () => void (cut = how.onCut?.()) });
      await cut;
      interruptions++;
      continue;
    }
    const res = await tusPatch(target(), at(), data, offset);
    if (!res) {
      retries++;
      continue;
    }
    statuses.push(res.status);
    if (res.status === 204) {
      acknowledged = Number(res.headers['upload-offset']);
      continue;
    }
    if (res.status === 200 || (res.status >= 400 && res.status < 500 && res.status !== 409 && res.status !== 423)) {
      return { interruptions, retries, statuses, final: { status: res.status, body: res.text ? JSON.parse(res.text) : null } };
    }
    retries++;
    await new Promise((r) => setTimeout(r, res.status === 423 ? 300 : 200));
  }
}
