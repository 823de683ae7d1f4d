import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { and, eq } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { GET as fileRoute } from '@/app/api/instances/[id]/file/route';
import { GET as tagsRoute } from '@/app/api/instances/[id]/tags/route';
import { GET as viewerRoute } from '@/app/api/studies/[id]/viewer/route';
import { getDb } from '@/db';
import { auditLog, instances } from '@/db/schema';
import { processStudy } from '@/lib/imaging/processing';
import { extractMetadata, parseDicom } from '@/lib/dicom';
import { decodeFrame } from '@/lib/imaging/decode';
import { uidFromUuid } from '@/lib/ingest/uid';
import { extractSlice, readNiftiVolume, sliceCounts } from '@/lib/nifti';
import { dicomCorpus, niftiCorpus } from '@/lib/testing/corpus';
import { makeSeries, replaceAscii } from '@/lib/testing/dicom-series';
import { createTestToken } from '@/lib/testing/fixtures';
import { ingestForTest } from '@/lib/testing/ingest';
import { syntheticCtSlice } from '@/lib/testing/synthetic-ct';
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';

let token: { secret: string; id: string };

type Handler = (req: Request, ctx: { params: Promise<Record<string, string>> }) => Promise<Response>;
async function call(handler: Handler, id: string, query = '') {
  return handler(new Request(`http://app.test/x?${query}`, { headers: { authorization: `Bearer ${token.secret}` } }), { params: Promise.resolve({ id }) });
}

function writeTemp(name: string, data: Buffer): string {
  const file = path.join(process.env.DATA_DIR!, `${Date.now()}-${Math.random().toString(36).slice(2)}-${name}`);
  writeFileSync(file, data);
  return file;
}

beforeAll(async () => {
  token = await createTestToken('viewer');
});

describe('GET /api/studies/{id}/viewer', () => {
  it('lists series with instances in spatial order, not upload or instance-number order', async () => {
    const studyUid = uidFromUuid();
    const seriesUid = uidFromUuid();
    // Instance numbers run opposite to the slice positions, and files arrive shuffled.
    const order = [3, 0, 4, 1, 2];
    let studyId = '';
    const sops: string[] = [];
    for (let i = 0; i < 5; i++) sops.push(uidFromUuid());
    for (const index of order) {
      const file = writeTemp(`s${index}.dcm`, syntheticCtSlice({ size: 32, index, studyUid, seriesUid, sopUid: sops[index]!, instanceNumber: 5 - index }));
      studyId = (await ingestForTest(file)).items[0]!.studyId;
    }
    const res = await call(viewerRoute, studyId);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { series: { instances: { id: string; number: number; fileUrl: string }[]; thumbnailUrl: string }[]; study: { patient: { name: string } } };
    expect(body.study.patient.name).toBe('Synthetic^Phantom');
    expect(body.series).toHaveLength(1);
    expect(body.series[0]!.instances.map((i) => i.number)).toEqual([5, 4, 3, 2, 1]);
    expect(body.series[0]!.instances[0]!.fileUrl).toMatch(/^\/api\/instances\/[0-9a-f-]{36}\/file$/);
    expect(body.series[0]!.thumbnailUrl).toContain(`/api/studies/${studyId}/image?series=`);
  });

  it('answers 404 for unknown studies', async () => {
    expect((await call(viewerRoute, '00000000-0000-4000-8000-000000000000')).status).toBe(404);
  });
});

describe('GET /api/instances/{id}/file and /tags', () => {
  it('serves JPEG-LS as a transcoded copy the browser can decode, and the original on request', async () => {
    const entry = dicomCorpus().find((e) => e.id === 'mr_small_jpegls_lossless')!;
    const tags = entry.reference.tags as Record<string, string>;
    const [data] = makeSeries(readFileSync(entry.path), { study: tags.StudyInstanceUID!, series: tags.SeriesInstanceUID!, sop: tags.SOPInstanceUID! }, 1).files;
    const { instanceId } = (await ingestForTest(writeTemp('jpegls.dcm', data!))).items[0]!;
    const res = await call(fileRoute, instanceId);
    expect(res.headers.get('content-type')).toBe('application/dicom');
    const served = parseDicom(new Uint8Array(await res.arrayBuffer()), { stopAtPixelData: false });
    expect(served.transferSyntaxUid).toBe('1.2.840.10008.1.2.1');
    await decodeFrame(served, 0);
    const original = new Uint8Array(await (await call(fileRoute, instanceId, 'original=true')).arrayBuffer());
    expect(parseDicom(original).transferSyntaxUid).toBe('1.2.840.10008.1.2.4.80');

    const tagsRes = await call(tagsRoute, instanceId);
    const { elements } = (await tagsRes.json()) as { elements: { tag: string; keyword: string; value: string; depth: number }[] };
    expect(elements).toContainEqual(expect.objectContaining({ tag: '(0010,0010)', keyword: 'PatientName', value: tags.PatientName }));
    const audit = await (await getDb())
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.resourceId, instanceId), eq(auditLog.tokenId, token.id)));
    expect(audit.map((a) => a.action).sort()).toEqual(['instance.download', 'instance.tags', 'instance.view']);
  });

  it('serves an image ingest gave UIDs with those UIDs in it, before processing and from the copy processing stores', async () => {
    const entry = dicomCorpus().find((e) => e.id === 'mr_decimal_rescale')!;
    // Its UIDs come from its content: a content of its own, not the one other suites upload.
    const name = Array.from({ length: 4 }, () => String.fromCharCode(65 + Math.floor(Math.random() * 26))).join('');
    const { instanceId, studyId, duplicate } = (await ingestForTest(writeTemp('no-uids.dcm', replaceAscii(readFileSync(entry.path), 'Anon', name)))).items[0]!;
    expect(duplicate).toBe(false);
    const [row] = await (await getDb()).select().from(instances).where(eq(instances.id, instanceId));
    const served = async () => {
      const dataset = parseDicom(new Uint8Array(await (await call(fileRoute, instanceId)).arrayBuffer()), { stopAtPixelData: false });
      return { sop: extractMetadata(dataset).sopInstanceUid, series: extractMetadata(dataset).seriesInstanceUid };
    };
    expect(row!.browserStorageKey).toBeNull();
    expect(await served()).toEqual({ sop: row!.sopInstanceUid, series: expect.stringMatching(/^2\.25\./) });
    await processStudy(studyId, { signal: new AbortController().signal, setProgress: async () => {} });
    const [processed] = await (await getDb()).select().from(instances).where(eq(instances.id, instanceId));
    expect(processed!.browserStorageKey).not.toBeNull();
    expect(await served()).toEqual({ sop: row!.sopInstanceUid, series: expect.stringMatching(/^2\.25\./) });
    // The download is the file as it was uploaded, without them.
    const original = parseDicom(new Uint8Array(await (await call(fileRoute, instanceId, 'original=true')).arrayBuffer()));
    expect(extractMetadata(original).sopInstanceUid).toBeNull();
  });

  it('serves a 32-bit RT dose as 16-bit integers dwv can read', async () => {
    const entry = dicomCorpus().find((e) => e.id === 'rtdose_rle_multiframe_32bit')!;
    const tags = entry.reference.tags as Record<string, string>;
    const [data] = makeSeries(readFileSync(entry.path), { study: tags.StudyInstanceUID!, series: tags.SeriesInstanceUID!, sop: tags.SOPInstanceUID! }, 1).files;
    const { instanceId } = (await ingestForTest(writeTemp('dose.dcm', data!))).items[0]!;
    const dataset = parseDicom(new Uint8Array(await (await call(fileRoute, instanceId)).arrayBuffer()), { stopAtPixelData: false });
    expect(extractMetadata(dataset)).toMatchObject({ bitsAllocated: 16, numberOfFrames: 15, transferSyntaxUid: '1.2.840.10008.1.2.1' });
    expect((await decodeFrame(dataset, 14)).data).toBeInstanceOf(Uint16Array);
  });

  it('converts a NIfTI volume into a multi-frame DICOM of its axial slices', async () => {
    const entry = niftiCorpus().find((e) => e.id === 'niigz_big_phantom_256x256x200_int16')!;
    const { instanceId } = (await ingestForTest(entry.path, { patientName: 'Phantom^Volume', patientId: 'PH-1' })).items[0]!;
    const res = await call(fileRoute, instanceId);
    const dataset = parseDicom(new Uint8Array(await res.arrayBuffer()), { stopAtPixelData: false });
    const meta = extractMetadata(dataset);
    const counts = sliceCounts(readNiftiVolume(gunzipSync(readFileSync(entry.path)), { volume: 0 }), 'display');
    expect(meta).toMatchObject({ numberOfFrames: counts.axial, patientName: 'Phantom^Volume', patientId: 'PH-1', bitsAllocated: 16 });
    expect(meta.pixelSpacing).toHaveLength(2);
    const frame = await decodeFrame(dataset, counts.axial - 1);
    expect(frame.data.length).toBe((meta.rows ?? 0) * (meta.columns ?? 0));
  });

  it('downloads a NIfTI volume as it was uploaded: .nii.gz stays gzip, .nii stays .nii', async () => {
    for (const id of ['niigz_standard_uint8', 'nii_float32_3d']) {
      const entry = niftiCorpus().find((e) => e.id === id)!;
      const { instanceId } = (await ingestForTest(entry.path, { patientName: 'Original^Download', patientId: `OD-${id}` })).items[0]!;
      const res = await call(fileRoute, instanceId, 'original=true');
      const gz = entry.path.endsWith('.gz');
      expect(res.headers.get('content-type'), id).toBe(gz ? 'application/gzip' : 'application/octet-stream');
      expect(res.headers.get('content-disposition'), id).toMatch(new RegExp(`^attachment; filename="[0-9.]+\\.${gz ? 'nii\\.gz' : 'nii'}"$`));
      expect(Buffer.from(await res.arrayBuffer()).equals(readFileSync(entry.path)), id).toBe(true);
    }
  });

  it('lists the time points of a 4D NIfTI volume and serves each one as its own multi-frame DICOM', async () => {
    const entry = niftiCorpus().find((e) => e.id === 'niigz_example4d_int16')!;
    const { instanceId, studyId } = (await ingestForTest(entry.path, { patientName: 'Four^D', patientId: 'FD-1' })).items[0]!;
    const volumes = readNiftiVolume(gunzipSync(readFileSync(entry.path))).volumeCount;
    expect(volumes).toBeGreaterThan(1);
    const listing = (await (await call(viewerRoute, studyId)).json()) as { series: { instances: { id: string; timePoints: number }[] }[] };
    expect(listing.series[0]!.instances[0]).toMatchObject({ id: instanceId, timePoints: volumes });

    const volume = readNiftiVolume(gunzipSync(readFileSync(entry.path)));
    const middle = Math.floor(sliceCounts(volume, 'display').axial / 2);
    const servedSlice = async (t: number) => {
      const dataset = parseDicom(new Uint8Array(await (await call(fileRoute, instanceId, `t=${t}`)).arrayBuffer()), { stopAtPixelData: false });
      const meta = extractMetadata(dataset);
      const frame = await decodeFrame(dataset, middle);
      return Array.from(frame.data, (v) => v * (meta.rescaleSlope ?? 1) + (meta.rescaleIntercept ?? 0));
    };
    const last = volumes - 1;
    const expected = (t: number) => Array.from(extractSlice(volume, { axis: 'axial', mode: 'display', index: middle, t }).data);
    expect(await servedSlice(0)).toEqual(expected(0));
    expect(await servedSlice(last)).toEqual(expected(last));
    expect(expected(last)).not.toEqual(expected(0));
    expect((await call(fileRoute, instanceId, `t=${volumes}`)).status).toBe(404);
    expect((await call(fileRoute, instanceId, 't=-1')).status).toBe(400);
    expect((await call(fileRoute, instanceId, 't=x')).status).toBe(400);
  });
});
