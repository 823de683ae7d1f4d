import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { receiveMultipart } from './multipart';

function body(parts: Array<{ headers?: string; data: Buffer }>, boundary = 'BOUNDARY', preamble = '') {
  const chunks: Buffer[] = [Buffer.from(preamble)];
  for (const part of parts) chunks.push(Buffer.from(`--${boundary}\r\n${part.headers ?? 'Content-Type: application/dicom\r\n'}\r\n`), part.data, Buffer.from('\r\n'));
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return Buffer.concat(chunks);
}

async function* inChunks(bytes: Buffer, size: number) {
  for (let i = 0; i < bytes.length; i += size) yield new Uint8Array(bytes.subarray(i, i + size));
}

const limits = () => ({ dir: mkdtempSync(path.join(os.tmpdir(), 'mp-')), maxPartBytes: 1 << 20, maxTotalBytes: 4 << 20, maxParts: 10 });

describe('receiveMultipart', () => {
  // Data that contains CRLF, dashes and most of the boundary, so only the full delimiter ends a part.
  const tricky = Buffer.concat([Buffer.from('\r\n--BOUNDAR\r\n-'), Buffer.alloc(5000, 0x2d), Buffer.from('\r\n--BOUNDARX')]);
  const binary = Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 7919) % 256));

  for (const size of [1, 3, 17, 4096, 1 << 20]) {
    it(`splits parts exactly whatever the chunk size (${size})`, async () => {
      const l = limits();
      const parts = await receiveMultipart(inChunks(body([{ data: tricky }, { data: binary, headers: 'Content-Type: application/dicom; transfer-syntax=1.2.840.10008.1.2.1\r\nContent-Location: x\r\n' }, { data: Buffer.alloc(0) }], 'BOUNDARY', 'preamble text\r\n'), size), 'BOUNDARY', l);
      expect(parts.map((p) => p.size)).toEqual([tricky.length, binary.length, 0]);
      expect(readFileSync(parts[0]!.file).equals(tricky)).toBe(true);
      expect(readFileSync(parts[1]!.file).equals(binary)).toBe(true);
      expect(parts[1]!.headers).toEqual({ 'content-type': 'application/dicom; transfer-syntax=1.2.840.10008.1.2.1', 'content-location': 'x' });
    });
  }

  it('refuses malformed bodies and leaves no files behind', async () => {
    for (const bad of [Buffer.from('no boundary here'), body([{ data: binary }]).subarray(0, 5000), Buffer.from('--BOUNDARY\r\nbroken header\r\n\r\nx\r\n--BOUNDARY--')]) {
      const l = limits();
      await expect(receiveMultipart(inChunks(bad, 1000), 'BOUNDARY', l)).rejects.toMatchObject({ status: 400, code: 'bad_request' });
      expect(readdirSync(l.dir)).toEqual([]);
    }
  });

  it('stops at the part, total and count limits with 413', async () => {
    const l = { ...limits(), maxPartBytes: 1000 };
    await expect(receiveMultipart(inChunks(body([{ data: binary }]), 4096), 'BOUNDARY', l)).rejects.toMatchObject({ status: 413 });
    expect(readdirSync(l.dir)).toEqual([]);
    const t = { ...limits(), maxTotalBytes: 10_000 };
    await expect(receiveMultipart(inChunks(body([{ data: binary }]), 4096), 'BOUNDARY', t)).rejects.toMatchObject({ status: 413 });
    const n = { ...limits(), maxParts: 2 };
    await expect(receiveMultipart(inChunks(body([{ data: tricky }, { data: tricky }, { data: tricky }]), 4096), 'BOUNDARY', n)).rejects.toMatchObject({ status: 413 });
  });
});
