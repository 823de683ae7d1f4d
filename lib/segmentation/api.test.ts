import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { and, eq } from 'drizzle-orm';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GET as getJobRoute } from '@/app/api/jobs/[id]/route';
import { GET as labelMapRoute } from '@/app/api/segmentations/[id]/labelmap/route';
import { GET as overlayRoute } from '@/app/api/segmentations/[id]/overlay/route';
import { GET as getSegmentationRoute } from '@/app/api/segmentations/[id]/route';
import { GET as enginesRoute } from '@/app/api/segmentations/engines/route';
import { GET as listRoute, POST as postRoute } from '@/app/api/studies/[id]/segmentations/route';
import { getDb } from '@/db';
import { auditLog, studies } from '@/db/schema';
import { resetEnvForTests } from '@/lib/env';
import { workerPool } from '@/lib/jobs/testing/helpers';
import { readNiftiVolume } from '@/lib/nifti';
import { ctSeries, DEFAULT_PHANTOM, phantomSeries, phantomVolumes } from '@/lib/testing/ct-phantom';
import { installFakeTotalSegmentator } from '@/lib/testing/fake-totalsegmentator';
import { createTestToken } from '@/lib/testing/fixtures';
import { ingestForTest } from '@/lib/testing/ingest';
import { LABELS } from './builtin-engine';
import { registerSegmentationJobs, SEGMENT_SERIES } from './jobs';
import type { SegmentationView } from './service';

type Handler = (req: Request, ctx: { params: Promise<Record<string, string>> }) => Promise<Response>;

let clinician: { secret: string; id: string };
let viewer: { secret: string; id: string };
let noScope: { secret: string; id: string };
const pool = workerPool({ kinds: [SEGMENT_SERIES] });

async function call(handler: Handler, url: string, params: Record<string, string>, options: { secret?: string; method?: string; body?: unknown } = {}) {
  const headers: Record<string, string> = { authorization: `Bearer ${options.secret ?? clinician.secret}` };
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const res = await handler(
    new Request(`http://app.test${url}`, { method: options.method ?? 'GET', headers, body: options.body === undefined ? undefined : JSON.stringify(options.body) }),
    { params: Promise.resolve(params) },
  );
  return res;
}

async function json(res: Response) {
  return { status: res.status, body: await res.json() };
}

/** Ingests a generated series as a finished upload would be; answers its study and series ids and SOP UIDs. */
async function ingestSeries(files: Buffer[]) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'seg-series-'));
  let ids: { studyId: string; seriesId: string; patientId: string } | undefined;
  for (const [i, data] of files.entries()) {
    const file = path.join(dir, `slice-${i}.dcm`);
    writeFileSync(file, data);
    const item = (await ingestForTest(file)).items[0]!;
    ids = { studyId: item.studyId, seriesId: item.seriesId, patientId: item.patientId };
  }
  return ids!;
}

async function waitForSegmentation(id: string, timeoutMs = 60_000): Promise<SegmentationView> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { body } = await json(await call(getSegmentationRoute, `/api/segmentations/${id}`, { id }));
    if (['succeeded', 'failed', 'cancelled'].includes(body.segmentation.status)) return body.segmentation;
    if (Date.now() > deadline) throw new Error(`segmentation ${id} still ${body.segmentation.status}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function start(studyId: string, body: unknown, secret?: string) {
  return json(await call(postRoute, `/api/studies/${studyId}/segmentations`, { id: studyId }, { method: 'POST', body, secret }));
}

async function auditRows(action: string, studyId: string) {
  return (await getDb())
    .select()
    .from(auditLog)
    .where(and(eq(auditLog.action, action), eq(auditLog.studyId, studyId)));
}

let phantom: { studyId: string; seriesId: string; patientId: string; sopUids: string[] };

beforeAll(async () => {
  registerSegmentationJobs();
  clinician = await createTestToken('clinician');
  viewer = await createTestToken('viewer');
  noScope = await createTestToken('clinician', ['studies:read', 'studies:write']);
  const series = phantomSeries(DEFAULT_PHANTOM, { patientId: `SEG-${Date.now()}` });
  phantom = { ...(await ingestSeries(series.files)), sopUids: series.sopUids };
}, 120_000);

afterAll(async () => {
  await pool.stopAll();
});

describe('segmentation jobs and API, built-in engine', () => {
  let segmentation: SegmentationView;

  it('POST answers 202 with a queued segmentation and its job; the same request while queued joins it', async () => {
    const first = await start(phantom.studyId, { seriesId: phantom.seriesId, engine: 'builtin' });
    expect(first.status).toBe(202);
    expect(first.body.segmentation).toMatchObject({ status: 'queued', engine: 'builtin', seriesId: phantom.seriesId, structures: [], overlayUrl: null });
    expect(first.body.jobId).toBe(first.body.segmentation.jobId);
    const again = await start(phantom.studyId, { seriesId: phantom.seriesId });
    expect(again.body).toMatchObject({ created: false, segmentation: { id: first.body.segmentation.id } });
    segmentation = first.body.segmentation;
    const audit = await auditRows('segmentation.request', phantom.studyId);
    expect(audit.length).toBeGreaterThanOrEqual(2);
    expect(audit[0]).toMatchObject({ outcome: 'success', patientId: phantom.patientId, tokenId: clinician.id });
  });

  it('the job runs: volumes per structure within 2 % of the phantom, the study becomes "analysed"', async () => {
    pool.start();
    const done = await waitForSegmentation(segmentation.id);
    expect(done.status).toBe('succeeded');
    expect(done.error).toBeNull();
    expect(done.model).toBe('builtin-threshold 1');
    expect(done.dims).toEqual([DEFAULT_PHANTOM.size, DEFAULT_PHANTOM.size, DEFAULT_PHANTOM.slices]);
    const want = phantomVolumes(DEFAULT_PHANTOM);
    const byName = Object.fromEntries(done.structures.map((s) => [s.name, s]));
    for (const name of ['body', 'lungs', 'bone', 'air'] as const) {
      expect(Math.abs(byName[name]!.volumeMl - want[name]) / want[name], name).toBeLessThan(0.02);
    }
    const job = await json(await call(getJobRoute, `/api/jobs/${done.jobId}`, { id: done.jobId! }));
    expect(job.body).toMatchObject({ kind: 'segment-series', status: 'succeeded', progress: 100 });
    const [study] = await (await getDb()).select().from(studies).where(eq(studies.id, phantom.studyId));
    expect(study!.status).toBe('analysed');
    segmentation = done;
  });

  it('GET lists the study’s segmentations with structures, volumes, engine and status; audited', async () => {
    const { status, body } = await json(await call(listRoute, `/api/studies/${phantom.studyId}/segmentations`, { id: phantom.studyId }));
    expect(status).toBe(200);
    expect(body.segmentations).toHaveLength(1);
    expect(body.segmentations[0]).toMatchObject({ id: segmentation.id, engine: 'builtin', status: 'succeeded', overlayUrl: `/api/segmentations/${segmentation.id}/overlay` });
    expect(body.segmentations[0].structures.map((s: { name: string }) => s.name)).toEqual(['body', 'lungs', 'bone', 'air']);
    expect(await auditRows('segmentation.list', phantom.studyId)).toEqual([expect.objectContaining({ outcome: 'success', patientId: phantom.patientId })]);
  });

  it('the overlay of a slice is an RGBA PNG of the image size, coloured where the structures are', async () => {
    const middle = Math.floor(DEFAULT_PHANTOM.slices / 2);
    const bySop = await call(overlayRoute, `/api/segmentations/${segmentation.id}/overlay?sop=${phantom.sopUids[middle]}`, { id: segmentation.id });
    expect(bySop.status).toBe(200);
    expect(bySop.headers.get('content-type')).toBe('image/png');
    expect(bySop.headers.get('x-slice-index')).toBe(String(middle));
    const png = Buffer.from(await bySop.arrayBuffer());
    const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
    expect(info).toMatchObject({ width: DEFAULT_PHANTOM.size, height: DEFAULT_PHANTOM.size, channels: 4 });
    const pixel = (x: number, y: number) => [...data.subarray((y * info.width + x) * 4, (y * info.width + x) * 4 + 4)];
    const color = (name: string) => [...segmentation.structures.find((s) => s.name === name)!.color, 255];
    const c = (DEFAULT_PHANTOM.size - 1) / 2;
    // Sphere centre (15 mm right of centre), rod axis (28 mm left), soft tissue below centre, a corner.
    expect(pixel(Math.round(c + 15), Math.round(c))).toEqual(color('lungs'));
    expect(pixel(Math.round(c - 28), Math.round(c))).toEqual(color('bone'));
    expect(pixel(Math.round(c), Math.round(c + 35))).toEqual(color('body'));
    expect(pixel(0, 0)).toEqual(color('air'));
    // The same slice by index, and a filtered one.
    const byIndex = Buffer.from(await (await call(overlayRoute, `/x?slice=${middle}`, { id: segmentation.id })).arrayBuffer());
    expect(byIndex.equals(png)).toBe(true);
    const lungsOnly = await sharp(Buffer.from(await (await call(overlayRoute, `/x?slice=${middle}&labels=${LABELS.lungs}`, { id: segmentation.id })).arrayBuffer()))
      .raw()
      .toBuffer();
    expect(lungsOnly[3]).toBe(0);
    expect(await auditRows('segmentation.overlay', phantom.studyId)).toHaveLength(3);
  });

  it('overlay requests for slices that do not exist answer 404, bad queries 400', async () => {
    const id = segmentation.id;
    expect((await json(await call(overlayRoute, `/x?slice=${DEFAULT_PHANTOM.slices}`, { id }))).body.error.code).toBe('not_found');
    expect((await call(overlayRoute, `/x?sop=1.2.3.4`, { id })).status).toBe(404);
    expect((await json(await call(overlayRoute, `/x`, { id }))).body.error.code).toBe('validation_error');
    expect((await call(overlayRoute, `/x?slice=-1`, { id })).status).toBe(400);
    expect((await call(overlayRoute, `/x?slice=1&labels=a`, { id })).status).toBe(400);
  });

  it('the label map downloads as NIfTI whose voxel counts are the table’s', async () => {
    const res = await call(labelMapRoute, `/x`, { id: segmentation.id });
    expect(res.status).toBe(200);
    const nifti = readNiftiVolume(new Uint8Array(await res.arrayBuffer()));
    expect(nifti.shape).toEqual([DEFAULT_PHANTOM.size, DEFAULT_PHANTOM.size, DEFAULT_PHANTOM.slices]);
    const lungs = (nifti.stored as Uint8Array).reduce((n, v) => n + (v === LABELS.lungs ? 1 : 0), 0);
    expect(lungs).toBe(segmentation.structures.find((s) => s.name === 'lungs')!.voxels);
    expect(await auditRows('segmentation.download', phantom.studyId)).toHaveLength(1);
  });

  it('refuses what it should, in the error shape, and audits refusals', async () => {
    const body = { seriesId: phantom.seriesId };
    const asViewer = await start(phantom.studyId, body, viewer.secret);
    expect(asViewer).toMatchObject({ status: 403, body: { error: { code: 'forbidden' } } });
    const withoutScope = await start(phantom.studyId, body, noScope.secret);
    expect(withoutScope.status).toBe(403);
    expect(withoutScope.body.error.message).toMatch(/segmentation/);
    const denied = await (await getDb()).select().from(auditLog).where(and(eq(auditLog.action, 'segmentation.request'), eq(auditLog.outcome, 'denied')));
    expect(denied.map((r) => r.tokenId)).toEqual(expect.arrayContaining([viewer.id, noScope.id]));
    // Viewers may read results.
    expect((await call(listRoute, `/x`, { id: phantom.studyId }, { secret: viewer.secret })).status).toBe(200);

    const unknownStudy = '00000000-0000-4000-8000-000000000000';
    expect((await start(unknownStudy, body)).status).toBe(404);
    expect((await json(await call(listRoute, `/x`, { id: unknownStudy }))).status).toBe(404);
    expect((await call(getSegmentationRoute, `/x`, { id: unknownStudy })).status).toBe(404);
    expect((await start(phantom.studyId, { seriesId: unknownStudy })).status).toBe(404);
    expect((await start(phantom.studyId, { seriesId: 'x' })).body.error.code).toBe('validation_error');
    expect((await start(phantom.studyId, { seriesId: phantom.seriesId, engine: 'magic' })).status).toBe(400);
    expect((await start(phantom.studyId, { seriesId: phantom.seriesId, options: { fast: true } })).body.error.message).toMatch(/built-in engine takes no options/);
    expect((await start(phantom.studyId, { seriesId: phantom.seriesId, engine: 'totalsegmentator', options: { roiSubset: ['unicorn'] } })).status).toBe(400);
    const notJson = await postRoute(new Request('http://app.test/x', { method: 'POST', headers: { authorization: `Bearer ${clinician.secret}`, 'content-type': 'application/json' }, body: '{' }), {
      params: Promise.resolve({ id: phantom.studyId }),
    });
    expect(notJson.status).toBe(400);
  });

  it('TotalSegmentator not installed: 503 not_configured, and the engine list says so', async () => {
    const saved = process.env.PATH;
    process.env.PATH = '/nonexistent';
    try {
      const res = await start(phantom.studyId, { seriesId: phantom.seriesId, engine: 'totalsegmentator' });
      expect(res).toMatchObject({ status: 503, body: { error: { code: 'not_configured' } } });
      const engines = (await json(await call(enginesRoute, '/api/segmentations/engines', {}))).body.engines;
      expect(engines).toEqual([
        expect.objectContaining({ name: 'builtin', available: true, default: true }),
        expect.objectContaining({ name: 'totalsegmentator', available: false }),
      ]);
    } finally {
      process.env.PATH = saved;
    }
  });
});

describe('segmentation jobs, TotalSegmentator (stand-in executable on PATH)', () => {
  let fake: ReturnType<typeof installFakeTotalSegmentator>;
  let blocks: { studyId: string; seriesId: string };
  // 32 × 32 × 6 slices of 1.5 × 1.5 × 3 mm: a 10 × 8 × 4 "liver" (value 100) and a 4 × 4 × 2 "spleen" (200).
  const grid = { size: 32, slices: 6, pixelMm: 1.5, sliceMm: 3 };
  const voxelMl = (1.5 * 1.5 * 3) / 1000;

  beforeAll(async () => {
    fake = installFakeTotalSegmentator();
    resetEnvForTests();
    const series = ctSeries(grid, (x, y, z) => (x >= 4 && x < 14 && y >= 5 && y < 13 && z >= 1 && z < 5 ? 100 : x >= 20 && x < 24 && y >= 20 && y < 24 && z < 2 ? 200 : -1000), {
      patientId: `SEG-TS-${Date.now()}`,
    });
    blocks = await ingestSeries(series.files);
  }, 60_000);
  afterAll(() => {
    fake.restore();
    delete process.env.SEGMENTATION_TIMEOUT_SECONDS;
    resetEnvForTests();
  });

  it('runs the CLI with --fast and --roi_subset and stores its structures', async () => {
    fake.setMode('ok');
    const res = await start(blocks.studyId, { seriesId: blocks.seriesId, engine: 'totalsegmentator', options: { fast: true, roiSubset: ['liver', 'spleen'] } });
    expect(res.status).toBe(202);
    const done = await waitForSegmentation(res.body.segmentation.id);
    expect(done).toMatchObject({ status: 'succeeded', engine: 'totalsegmentator', model: 'TotalSegmentator total (fast)', options: { fast: true, roiSubset: ['liver', 'spleen'] } });
    expect(done.structures.map((s) => [s.name, s.label, s.voxels])).toEqual([
      ['spleen', 1, 32],
      ['liver', 5, 320],
    ]);
    expect(done.structures[1]!.volumeMl).toBeCloseTo(320 * voxelMl, 3);
    expect(fake.runs().at(-1)!.argv.slice(4)).toEqual(['--fast', '--roi_subset', 'liver', 'spleen']);
  });

  it('a non-zero exit fails the job (after its retry) with TotalSegmentator’s message', async () => {
    fake.setMode('fail');
    const res = await start(blocks.studyId, { seriesId: blocks.seriesId, engine: 'totalsegmentator', options: { multilabel: true } });
    const done = await waitForSegmentation(res.body.segmentation.id);
    expect(done.status).toBe('failed');
    expect(done.error).toMatch(/^TotalSegmentator exited with code 1: .*CUDA out of memory/s);
    const job = (await json(await call(getJobRoute, `/x`, { id: done.jobId! }))).body;
    expect(job).toMatchObject({ status: 'failed', attempts: 2 });
    expect(job.error).toMatch(/exited with code 1/);
  });

  it('missing outputs fail the job clearly', async () => {
    fake.setMode('no-output');
    const res = await start(blocks.studyId, { seriesId: blocks.seriesId, engine: 'totalsegmentator' });
    const done = await waitForSegmentation(res.body.segmentation.id);
    expect(done).toMatchObject({ status: 'failed', error: expect.stringContaining('wrote no masks') });
  });

  it('a run past SEGMENTATION_TIMEOUT_SECONDS is stopped and the job fails as timed out', async () => {
    fake.setMode('hang');
    process.env.SEGMENTATION_TIMEOUT_SECONDS = '2';
    resetEnvForTests();
    const res = await start(blocks.studyId, { seriesId: blocks.seriesId, engine: 'totalsegmentator', options: { roiSubset: ['liver'] } });
    const done = await waitForSegmentation(res.body.segmentation.id, 60_000);
    expect(done.status).toBe('failed');
    expect(done.error).toBe('Timed out after 2 s');
    // Both attempts' processes are gone.
    for (const run of fake.runs().slice(-2)) {
      await expect
        .poll(() => {
          try {
            process.kill(run.pid, 0);
            return 'running';
          } catch {
            return 'gone';
          }
        })
        .toBe('gone');
    }
  }, 60_000);
});
