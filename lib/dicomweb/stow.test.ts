import { readFileSync } from 'node:fs';
import { and, eq, inArray } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { GET as retrieveInstance } from '@/app/dicomweb/studies/[study]/series/[series]/instances/[instance]/route';
import { POST as stow } from '@/app/dicomweb/studies/route';
import { getDb } from '@/db';
import { auditLog, instances, processingJobs, uploads } from '@/db/schema';
import { readDicomMetadata } from '@/lib/dicom';
import { dicomCorpus } from '@/lib/testing/corpus';
import { replaceAscii, variantUid } from '@/lib/testing/dicom-series';
import { createTestToken } from '@/lib/testing/fixtures';

let token: { secret: string; id: string };

function fresh(id: string) {
  let bytes: Buffer = readFileSync(dicomCorpus().find((e) => e.id === id)!.path);
  const meta = readDicomMetadata(new Uint8Array(bytes));
  const map = new Map<string, string>();
  for (const uid of [meta.studyInstanceUid!, meta.seriesInstanceUid!, meta.sopInstanceUid!].sort((a, b) => b.length - a.length)) {
    map.set(uid, variantUid(uid));
    bytes = replaceAscii(bytes, uid, map.get(uid)!);
  }
  return { bytes, study: map.get(meta.studyInstanceUid!)!, series: map.get(meta.seriesInstanceUid!)!, sop: map.get(meta.sopInstanceUid!)! };
}

function post(parts: Buffer[], secret = token.secret) {
  const b = 'xYz';
  const body = Buffer.concat([...parts.flatMap((p) => [Buffer.from(`--${b}\r\nContent-Type: application/dicom\r\n\r\n`), p, Buffer.from('\r\n')]), Buffer.from(`--${b}--`)]);
  return stow(new Request('http://app.test/dicomweb/studies', { method: 'POST', body, headers: { authorization: `Bearer ${secret}`, 'content-type': `multipart/related; type="application/dicom"; boundary=${b}` } }), { params: Promise.resolve({}) });
}

beforeAll(async () => {
  token = await createTestToken('clinician', ['dicomweb:read', 'dicomweb:write']);
});

describe('STOW-RS', () => {
  it('goes through the ingest pipeline: upload records, catalogue, audit, processing job', async () => {
    const a = fresh('ct_small_explicit_le');
    const b = fresh('mr_small_rle');
    const res = await post([a.bytes, b.bytes]);
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body['00081199'].Value.map((i: Record<string, { Value: string[] }>) => i['00081155']!.Value[0]).sort()).toEqual([a.sop, b.sop].sort());

    const db = await getDb();
    const stored = await db.select().from(instances).where(inArray(instances.sopInstanceUid, [a.sop, b.sop]));
    expect(stored).toHaveLength(2);
    const ups = await db.select().from(uploads).where(inArray(uploads.id, stored.map((s) => s.uploadId!)));
    expect(ups.map((u) => [u.status, u.tokenId])).toEqual([['ready', token.id], ['ready', token.id]]);
    // One audit row per part, naming its patient and study; no upload.create/upload.ingest besides.
    const ingestAudit = await db.select().from(auditLog).where(inArray(auditLog.resourceId, ups.map((u) => u.id)));
    expect(ingestAudit.map((r) => [r.action, r.outcome])).toEqual([['dicomweb.store', 'success'], ['dicomweb.store', 'success']]);
    expect(ingestAudit.map((r) => r.studyId).sort()).toEqual(ups.map((u) => u.studyId).sort());
    const jobs = await db.select().from(processingJobs).where(inArray(processingJobs.studyId, [...new Set(ups.map((u) => u.studyId!))]));
    expect(jobs.length).toBeGreaterThanOrEqual(2);

    // Storing the same instance again changes nothing and is not an error.
    const again = await post([a.bytes]);
    expect(again.status).toBe(200);
    expect(await db.select().from(instances).where(eq(instances.sopInstanceUid, a.sop))).toHaveLength(1);

    // WADO-RS reads of it are audited against its patient and study.
    const read = await retrieveInstance(new Request(`http://app.test/dicomweb/studies/${a.study}/series/${a.series}/instances/${a.sop}`, { headers: { authorization: `Bearer ${token.secret}` } }), {
      params: Promise.resolve({ study: a.study, series: a.series, instance: a.sop }),
    });
    expect(read.status).toBe(200);
    await read.arrayBuffer();
    const access = await db.select().from(auditLog).where(and(eq(auditLog.action, 'dicomweb.retrieve_instance'), eq(auditLog.resourceId, a.sop)));
    const studyOfA = ups.find((u) => u.id === stored.find((s) => s.sopInstanceUid === a.sop)!.uploadId)!.studyId;
    expect(access).toEqual([expect.objectContaining({ outcome: 'success', studyId: studyOfA, patientId: expect.any(String) })]);
  });

  it('reports parts that are not DICOM, or broken, in FailedSOPSequence and stores nothing of them', async () => {
    const broken = readFileSync(dicomCorpus().find((e) => e.id === 'broken_mr_truncated_pixeldata')!.path);
    const res = await post([Buffer.from('hello'), broken]);
    expect(res.status).toBe(409);
    const body = await res.json();
    const failed = body['00081198'].Value as Array<Record<string, { Value?: unknown[] }>>;
    expect(failed.map((f) => f['00081197']!.Value![0])).toEqual([0xc000, 0xc000]);
    expect(body['00081199']).toBeUndefined();
  });

  it('needs the dicomweb:write scope and a role that may upload', async () => {
    const readOnly = await createTestToken('clinician', ['dicomweb:read']);
    expect((await post([fresh('mr_small_rle').bytes], readOnly.secret)).status).toBe(403);
    const viewer = await createTestToken('viewer', ['dicomweb:write']);
    expect((await post([fresh('mr_small_rle').bytes], viewer.secret)).status).toBe(403);
  });
});
