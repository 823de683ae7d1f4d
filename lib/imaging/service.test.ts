import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { and, eq } from 'drizzle-orm';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { POST as processRoute } from '@/app/api/process/[id]/route';
import { GET as imageRoute } from '@/app/api/studies/[id]/image/route';
import { getDb } from '@/db';
import { auditLog, instances, studies } from '@/db/schema';
import { getJob, startWorker } from '@/lib/jobs';
import { parseDicom } from '@/lib/dicom';
import { dicomCorpus, niftiCorpus } from '@/lib/testing/corpus';
import { makeSeries } from '@/lib/testing/dicom-series';
import { createTestToken } from '@/lib/testing/fixtures';
import { ingestForTest } from '@/lib/testing/ingest';
import { objectPath } from '@/lib/storage';
import { sliceCounts, readNiftiVolume } from '@/lib/nifti';
import { gunzipSync } from 'node:zlib';
import { decodeFrame } from './decode';
import { registerProcessingJobs } from './processing';

let token: { secret: string; id: string };
let ct: { studyId: string; instanceId: string; patientId: string };
let mr: { studyId: string };
let nifti: { studyId: string; file: string };

const fixture = (id: string) => dicomCorpus().find((e) => e.id === id)!;

/** A copy of a fixture with fresh UIDs, so no other test's upload makes it a duplicate. */
function uniqueCopy(id: string): string {
  const entry = fixture(id);
  const tags = entry.reference.tags as Record<string, string>;
  const [data] = makeSeries(readFileSync(entry.path), { study: tags.StudyInstanceUID!, series: tags.SeriesInstanceUID!, sop: tags.SOPInstanceUID! }, 1).files;
  const file = path.join(process.env.DATA_DIR!, `${id}-${Date.now()}-${Math.random().toString(36).slice(2)}.dcm`);
  writeFileSync(file, data!);
  return file;
}

async function image(studyId: string, query = '', headers: Record<string, string> = {}, secret = token.secret) {
  const res = await imageRoute(new Request(`http://app.test/api/studies/${studyId}/image?${query}`, { headers: { authorization: `Bearer ${secret}`, ...headers } }), {
    params: Promise.resolve({ id: studyId }),
  });
  const body = Buffer.from(await res.arrayBuffer());
  return { status: res.status, headers: res.headers, body };
}

async function pixels(png: Buffer) {
  const meta = await sharp(png).metadata();
  // sharp decodes to sRGB unless told the image is greyscale.
  const input = meta.channels === 1 ? sharp(png).toColourspace('b-w') : sharp(png);
  const { data, info } = await input.raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: meta.channels, format: meta.format };
}

beforeAll(async () => {
  token = await createTestToken('radiologist');
  const ctResult = await ingestForTest(uniqueCopy('ct_small_explicit_le'));
  ct = { studyId: ctResult.items[0]!.studyId, instanceId: ctResult.items[0]!.instanceId, patientId: ctResult.items[0]!.patientId };
  mr = { studyId: (await ingestForTest(uniqueCopy('us_palette_rle_multiframe'))).items[0]!.studyId };
  const niiFile = niftiCorpus().find((e) => e.id === 'niigz_example4d_int16')!.path;
  nifti = { studyId: (await ingestForTest(niiFile, { patientName: 'Nifti^Test' })).items[0]!.studyId, file: niiFile };
});

describe('GET /api/studies/{id}/image', () => {
  it('renders a PNG with the file window by default, and audits the access', async () => {
    const res = await image(ct.studyId);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/png');
    expect(res.headers.get('cache-control')).toBe('private, max-age=3600');
    const png = await pixels(res.body);
    expect([png.width, png.height, png.channels]).toEqual([128, 128, 1]);
    const rows = await (await getDb())
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.action, 'study.image'), eq(auditLog.studyId, ct.studyId)));
    expect(rows.at(-1)).toMatchObject({ outcome: 'success', patientId: ct.patientId, tokenId: token.id });
  });

  it('audits a missing image as a failed access, with who asked and from where, in the lookup itself', async () => {
    const res = await image(ct.studyId, 'index=99', { 'x-forwarded-for': '203.0.113.9', 'user-agent': 'audit-probe/1' });
    expect(res.status).toBe(404);
    const rows = await (await getDb())
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.action, 'study.image'), eq(auditLog.studyId, ct.studyId), eq(auditLog.userAgent, 'audit-probe/1')));
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ outcome: 'failure', patientId: null, tokenId: token.id, role: 'radiologist', clientAddress: '203.0.113.9', resourceType: 'study', resourceId: ct.studyId, details: { reason: 'not_found' } });
  });

  it('changes pixels with window/level and presets, inverts, resizes and encodes JPEG/WebP', async () => {
    const base = await pixels((await image(ct.studyId, 'window=400&level=40')).body);
    const narrow = await pixels((await image(ct.studyId, 'window=80&level=40')).body);
    expect(Buffer.compare(base.data, narrow.data)).not.toBe(0);
    const preset = await pixels((await image(ct.studyId, 'preset=brain')).body);
    expect(preset.data.equals(narrow.data)).toBe(true);
    const inverted = await pixels((await image(ct.studyId, 'window=400&level=40&invert=true')).body);
    expect(Array.from(inverted.data.subarray(0, 500))).toEqual(Array.from(base.data.subarray(0, 500), (v) => 255 - v));
    const small = await pixels((await image(ct.studyId, 'size=64&format=webp')).body);
    expect([small.width, small.height, small.format]).toEqual([64, 64, 'webp']);
    expect((await pixels((await image(ct.studyId, 'format=jpeg')).body)).format).toBe('jpeg');
  });

  it('renders any frame of a multi-frame palette image in colour', async () => {
    const frame9 = await image(mr.studyId, 'frame=9');
    expect(frame9.status).toBe(200);
    expect((await pixels(frame9.body)).channels).toBe(3);
    expect((await image(mr.studyId, 'frame=10')).status).toBe(404);
  });

  it('slices NIfTI volumes along each axis', async () => {
    const counts = sliceCounts(readNiftiVolume(gunzipSync(readFileSync(nifti.file)), { volume: 0 }), 'display');
    for (const axis of ['axial', 'coronal', 'sagittal'] as const) {
      const res = await image(nifti.studyId, `axis=${axis}&slice=${counts[axis] - 1}`);
      expect(res.status, axis).toBe(200);
      expect((await image(nifti.studyId, `axis=${axis}&slice=${counts[axis]}`)).status).toBe(404);
    }
    expect((await image(nifti.studyId, 't=1')).status).toBe(200);
    expect((await image(nifti.studyId, 't=2')).status).toBe(404);
  });

  it('answers 304 to a matching ETag, and a new ETag for other parameters', async () => {
    const first = await image(ct.studyId, 'window=300&level=30');
    const etag = first.headers.get('etag')!;
    expect((await image(ct.studyId, 'window=300&level=30', { 'if-none-match': etag })).status).toBe(304);
    expect((await image(ct.studyId, 'window=301&level=30')).headers.get('etag')).not.toBe(etag);
  });

  it('answers 422 with the decoder\'s reason for a stored file that does not decode, and keeps serving', async () => {
    const result = await ingestForTest(uniqueCopy('mr_small_jpegls_lossless'));
    const [row] = await (await getDb()).select().from(instances).where(eq(instances.id, result.items[0]!.instanceId));
    // Damage the stored codestream after ingest, as a disk fault would.
    const stored = readFileSync(objectPath(row!.storageKey));
    const soi = stored.indexOf(Buffer.from([0xff, 0xd8, 0xff]));
    stored.fill(0x55, soi, soi + 64);
    writeFileSync(objectPath(row!.storageKey), stored);
    const res = await image(result.items[0]!.studyId);
    expect(res.status).toBe(422);
    expect(JSON.parse(res.body.toString()).error).toMatchObject({ code: 'invalid_dicom', details: { reason: 'corrupt_pixel_data' } });
    expect((await image(ct.studyId)).status).toBe(200);
  });

  it('refuses bad parameters with 400 and unknown images with 404', async () => {
    for (const bad of ['window=100', 'preset=kidney', 'size=5', 'format=gif', 'frame=-1', 'invert=maybe', 'preset=lung&window=1&level=1']) {
      const res = await image(ct.studyId, bad);
      expect(res.status, bad).toBe(400);
      expect(JSON.parse(res.body.toString()).error.code).toBe('validation_error');
    }
    expect((await image('00000000-0000-4000-8000-000000000000')).status).toBe(404);
    expect((await image(ct.studyId, 'instance=00000000-0000-4000-8000-000000000000')).status).toBe(404);
  });
});

describe('processing jobs', () => {
  it('POST /api/process/{id} answers 202 with a job that a worker runs to completion', async () => {
    registerProcessingJobs();
    const res = await processRoute(new Request(`http://app.test/api/process/${ct.studyId}`, { method: 'POST', headers: { authorization: `Bearer ${token.secret}` } }), {
      params: Promise.resolve({ id: ct.studyId }),
    });
    expect(res.status).toBe(202);
    const { jobId } = (await res.json()) as { jobId: string };
    const again = await processRoute(new Request(`http://app.test/api/process/${ct.studyId}`, { method: 'POST', headers: { authorization: `Bearer ${token.secret}` } }), {
      params: Promise.resolve({ id: ct.studyId }),
    });
    expect(((await again.json()) as { jobId: string }).jobId).toBe(jobId);

    const worker = startWorker({ pollIntervalMs: 50, kinds: ['process-study'] });
    try {
      await expect.poll(async () => (await getJob(jobId))?.status, { timeout: 20_000 }).toBe('succeeded');
    } finally {
      await worker.stop();
    }
    const job = await getJob(jobId);
    expect(job).toMatchObject({ progress: 100, result: { instances: 1, decoded: 1, failed: [] } });
    const [study] = await (await getDb()).select().from(studies).where(eq(studies.id, ct.studyId));
    expect(study!.status).toBe('processed');
  });

  it('transcodes what the browser cannot decode into a copy, keeping the original untouched', async () => {
    const result = await ingestForTest(uniqueCopy('mr_small_jpegls_lossless'));
    const { processStudy } = await import('./processing');
    const outcome = await processStudy(result.items[0]!.studyId, { signal: new AbortController().signal, setProgress: async () => {} });
    expect(outcome).toMatchObject({ instances: 1, decoded: 1, transcoded: 1, failed: [] });
    const [row] = await (await getDb()).select().from(instances).where(eq(instances.id, result.items[0]!.instanceId));
    expect(row!.browserTransferSyntaxUid).toBe('1.2.840.10008.1.2.1');
    const original = new Uint8Array(readFileSync(objectPath(row!.storageKey)));
    expect(createHash('sha256').update(original).digest('hex')).toBe(row!.sha256);
    const copy = new Uint8Array(readFileSync(objectPath(row!.browserStorageKey!)));
    const copied = parseDicom(copy, { stopAtPixelData: false });
    expect(copied.transferSyntaxUid).toBe('1.2.840.10008.1.2.1');
    const a = await decodeFrame(parseDicom(original, { stopAtPixelData: false }), 0);
    const b = await decodeFrame(copied, 0);
    expect(Buffer.from(b.data.buffer, b.data.byteOffset, b.data.byteLength).equals(Buffer.from(a.data.buffer, a.data.byteOffset, a.data.byteLength))).toBe(true);
    // Running again (a retried job) adds nothing.
    await processStudy(result.items[0]!.studyId, { signal: new AbortController().signal, setProgress: async () => {} });
    const [again] = await (await getDb()).select().from(instances).where(eq(instances.id, result.items[0]!.instanceId));
    expect(again!.browserStorageKey).toBe(row!.browserStorageKey);
  });

  it.each(['ct_small_explicit_le', 'ct_jpeg_lossless_p14', 'us_palette_rle_multiframe'])(
    'stores the default view of %s, served afterwards with the bytes, ETag and window of an on-demand rendering, and audited',
    async (id) => {
      const result = await ingestForTest(uniqueCopy(id));
      const studyId = result.items[0]!.studyId;
      const onDemand = await image(studyId);
      expect(onDemand.status).toBe(200);
      expect(onDemand.headers.get('x-image-rendition')).toBe('on-demand');
      const { processStudy } = await import('./processing');
      await processStudy(studyId, { signal: new AbortController().signal, setProgress: async () => {} });
      const audited = async () => (await (await getDb()).select().from(auditLog).where(and(eq(auditLog.action, 'study.image'), eq(auditLog.studyId, studyId)))).length;
      const before = await audited();
      const stored = await image(studyId);
      expect(stored.headers.get('x-image-rendition')).toBe('pre-rendered');
      expect(stored.body.equals(onDemand.body)).toBe(true);
      for (const header of ['etag', 'content-type', 'x-window-center', 'x-window-width', 'x-image-instance']) expect(stored.headers.get(header), header).toBe(onDemand.headers.get(header));
      expect(await audited()).toBe(before + 1);
      // Any other view is rendered on demand.
      for (const query of ['window=400&level=40', 'invert=true', 'size=64', 'format=jpeg', 'frame=0&preset=bone']) {
        expect((await image(studyId, query)).headers.get('x-image-rendition'), query).toBe('on-demand');
      }
      expect((await image(studyId, 'format=png&frame=0')).headers.get('x-image-rendition')).toBe('pre-rendered');
    },
  );

  it('reports instances that do not decode, and refuses viewers and unknown studies', async () => {
    const result = await ingestForTest(uniqueCopy('mr_small_jpegls_lossless'));
    const [row] = await (await getDb()).select().from(instances).where(eq(instances.id, result.items[0]!.instanceId));
    // Damage the stored codestream after ingest, as a disk fault would.
    const stored = readFileSync(objectPath(row!.storageKey));
    const soi = stored.indexOf(Buffer.from([0xff, 0xd8, 0xff]));
    expect(soi).toBeGreaterThan(0);
    stored.fill(0x55, soi, soi + 64);
    writeFileSync(objectPath(row!.storageKey), stored);
    registerProcessingJobs();
    const { processStudy } = await import('./processing');
    const outcome = await processStudy(result.items[0]!.studyId, { signal: new AbortController().signal, setProgress: async () => {} });
    expect(outcome.failed).toHaveLength(1);

    const viewer = await createTestToken('viewer');
    const refused = await processRoute(new Request('http://app.test/x', { method: 'POST', headers: { authorization: `Bearer ${viewer.secret}` } }), {
      params: Promise.resolve({ id: ct.studyId }),
    });
    expect(refused.status).toBe(403);
    const missing = await processRoute(new Request('http://app.test/x', { method: 'POST', headers: { authorization: `Bearer ${token.secret}` } }), {
      params: Promise.resolve({ id: '00000000-0000-4000-8000-000000000000' }),
    });
    expect(missing.status).toBe(404);
  });
});
