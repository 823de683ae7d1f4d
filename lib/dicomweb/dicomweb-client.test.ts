/**
 * Interoperability: the DICOMweb service driven by dicomweb-client (the DCMJS / Imaging Data
 * Commons client OHIF uses), over real HTTP, against the real route handlers and PostgreSQL.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api } from 'dicomweb-client';
import { parseDicom, readDicomMetadata } from '@/lib/dicom';
import { decodeFrame } from '@/lib/imaging/decode';
import { decodeDicomFrame, renderDecoded } from '@/lib/imaging/dicom-image';
import { appRouter } from '@/lib/testing/app-routes';
import { dicomCorpus } from '@/lib/testing/corpus';
import { replaceAscii, variantUid } from '@/lib/testing/dicom-series';
import { createTestToken } from '@/lib/testing/fixtures';
import { serveHandlers } from '@/lib/testing/http';

// dicomweb-client is a browser library; xhr2 gives Node an XMLHttpRequest over node:http.
(globalThis as { XMLHttpRequest?: unknown }).XMLHttpRequest = createRequire(import.meta.url)('xhr2');

// Its bundled typings mark every option as required and mistype some results (arrays of parts):
// the tests call it as its documentation and source describe.
type Method = 'storeInstances' | 'searchForStudies' | 'searchForSeries' | 'searchForInstances' | 'retrieveStudyMetadata' | 'retrieveBulkData' | 'retrieveInstance' | 'retrieveSeries' | 'retrieveInstanceFrames' | 'retrieveInstanceRendered';
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Client = Record<Method, (options: Record<string, unknown>) => Promise<any>>;
const DICOMwebClient = api.DICOMwebClient as unknown as new (options: Record<string, unknown>) => Client;

interface Sample {
  id: string;
  bytes: Buffer;
  study: string;
  series: string;
  sop: string;
}

/** Corpus files with fresh UIDs, so that earlier runs or other tests never make them duplicates. */
function samples(ids: string[]): Sample[] {
  return ids.map((id) => {
    const entry = dicomCorpus().find((e) => e.id === id)!;
    let bytes: Buffer = readFileSync(entry.path);
    const meta = readDicomMetadata(new Uint8Array(bytes));
    const fresh = new Map<string, string>();
    // Longest first: some series UIDs extend their study's UID.
    for (const uid of [meta.studyInstanceUid!, meta.seriesInstanceUid!, meta.sopInstanceUid!].sort((a, b) => b.length - a.length)) {
      fresh.set(uid, variantUid(uid));
      bytes = replaceAscii(bytes, uid, fresh.get(uid)!);
    }
    return { id, bytes, study: fresh.get(meta.studyInstanceUid!)!, series: fresh.get(meta.seriesInstanceUid!)!, sop: fresh.get(meta.sopInstanceUid!)! };
  });
}

/** The parts of a multipart/related body, split at its boundary. */
function multipartParts(body: Buffer, contentType: string): Buffer[] {
  const boundary = /boundary="?([^";]+)"?/.exec(contentType)![1]!;
  const parts: Buffer[] = [];
  let at = body.indexOf(`--${boundary}`);
  while (at >= 0) {
    const headerEnd = body.indexOf('\r\n\r\n', at);
    const next = body.indexOf(`\r\n--${boundary}`, headerEnd);
    if (headerEnd < 0 || next < 0) break;
    parts.push(body.subarray(headerEnd + 4, next));
    at = next + 2;
  }
  return parts;
}

const asStored = (bytes: Buffer) => {
  // Storage blanks the 128-byte preamble (it can hide executable content); everything else is kept.
  const copy = Buffer.from(bytes);
  if (copy.subarray(128, 132).toString('latin1') === 'DICM') copy.fill(0, 0, 128);
  return copy;
};

let server: Awaited<ReturnType<typeof serveHandlers>>;
let client: Client;
let reader: Client;
let set: Sample[];
let writerSecret: string;

beforeAll(async () => {
  const writer = await createTestToken('radiologist', ['dicomweb:read', 'dicomweb:write']);
  writerSecret = writer.secret;
  const readOnly = await createTestToken('viewer', ['dicomweb:read']);
  server = await serveHandlers({ '/dicomweb': appRouter(['app/dicomweb']) });
  client = new DICOMwebClient({ url: `${server.url}/dicomweb`, headers: { Authorization: `Bearer ${writer.secret}` } });
  reader = new DICOMwebClient({ url: `${server.url}/dicomweb`, headers: { Authorization: `Bearer ${readOnly.secret}` }, verbose: false });
  set = samples(['ct_small_explicit_le', 'mr_small_jpegls_lossless', 'xa_jpeg_lossless_sv1_multiframe', 'mr_small_implicit', 'us_rgb_big_endian']);
});

afterAll(async () => {
  await server?.close();
});

const byId = (id: string) => set.find((s) => s.id === id)!;
const ids = (s: Sample) => ({ studyInstanceUID: s.study, seriesInstanceUID: s.series, sopInstanceUID: s.sop });
const value = (dataset: Record<string, { Value?: unknown[] }>, tag: string) => dataset[tag]?.Value?.[0];

describe('dicomweb-client against /dicomweb', () => {
  it('stores instances with STOW-RS (and a read-only token may not)', async () => {
    const refused = await reader.storeInstances({ datasets: [set[0]!.bytes.buffer.slice(set[0]!.bytes.byteOffset, set[0]!.bytes.byteOffset + set[0]!.bytes.byteLength)] }).catch((e: { status: number }) => e);
    expect((refused as { status: number }).status).toBe(403);

    const datasets = set.map((s) => s.bytes.buffer.slice(s.bytes.byteOffset, s.bytes.byteOffset + s.bytes.byteLength));
    const response = await client.storeInstances({ datasets });
    const body = typeof response === 'string' ? JSON.parse(response) : response;
    const referenced = (body['00081199'].Value as Array<Record<string, { Value: string[] }>>).map((item) => item['00081155']!.Value[0]);
    expect(referenced.sort()).toEqual(set.map((s) => s.sop).sort());
    expect(body['00081198']).toBeUndefined();
  });

  it('finds the study, its series and instances with QIDO-RS', async () => {
    const ct = byId('ct_small_explicit_le');
    const studies = await client.searchForStudies({ queryParams: { StudyInstanceUID: ct.study } });
    expect(studies).toHaveLength(1);
    expect(value(studies[0], '0020000D')).toBe(ct.study);
    expect(value(studies[0], '00201208')).toBe(set.filter((s) => s.study === ct.study).length);
    const series = await client.searchForSeries({ studyInstanceUID: ct.study });
    expect(series.map((s: Record<string, { Value?: unknown[] }>) => value(s, '0020000E')).sort()).toEqual(set.filter((s) => s.study === ct.study).map((s) => s.series).sort());
    const instances = await client.searchForInstances({ studyInstanceUID: ct.study, seriesInstanceUID: ct.series });
    expect(instances.map((i: Record<string, { Value?: unknown[] }>) => value(i, '00080018'))).toEqual([ct.sop]);
    expect(value(instances[0], '00280010')).toBe(128);
    // Wildcards on the patient's name; the corpus CT is "CompressedSamples^CT1".
    const byName = await client.searchForStudies({ queryParams: { PatientName: 'compressed*', StudyInstanceUID: ct.study } });
    expect(byName).toHaveLength(1);
    const none = await client.searchForStudies({ queryParams: { PatientName: 'nobody*', StudyInstanceUID: ct.study } });
    expect(none).toEqual([]);
  });

  it('retrieves study metadata in the DICOM JSON model, pixel data as BulkDataURI', async () => {
    const ct = byId('ct_small_explicit_le');
    const metadata = await client.retrieveStudyMetadata({ studyInstanceUID: ct.study });
    const item = metadata.find((m: Record<string, { Value?: unknown[] }>) => value(m, '00080018') === ct.sop);
    expect(item).toBeDefined();
    expect(item['00100010']).toEqual({ vr: 'PN', Value: [{ Alphabetic: expect.stringMatching(/CT1/) }] });
    expect(item['00280010']).toEqual({ vr: 'US', Value: [128] });
    expect(item['7FE00010'].BulkDataURI).toMatch(new RegExp(`/studies/${ct.study}/series/${ct.series}/instances/${ct.sop}/bulkdata/7FE00010$`));
    const bulk = await client.retrieveBulkData({ BulkDataURI: item['7FE00010'].BulkDataURI });
    expect(new Uint8Array(bulk[0]).byteLength).toBe(128 * 128 * 2);
  });

  it('retrieves instances and series byte for byte as stored', async () => {
    // Explicit VR Little Endian is the default transfer syntax, so such files come back untouched.
    const ct = byId('ct_small_explicit_le');
    const part = await client.retrieveInstance(ids(ct));
    expect(Buffer.from(part as ArrayBuffer).equals(asStored(ct.bytes))).toBe(true);
    const series = await client.retrieveSeries({ studyInstanceUID: ct.study, seriesInstanceUID: ct.series });
    expect(series).toHaveLength(1);
    expect(Buffer.from(series[0] as ArrayBuffer).equals(asStored(ct.bytes))).toBe(true);
    // dicomweb-client 0.11 cannot send a transfer-syntax parameter for instances (it rejects any
    // mediaTypes there), so transfer-syntax=* is asked for with fetch: every file as stored.
    for (const sample of set) {
      const res = await fetch(`${server.url}/dicomweb/studies/${sample.study}/series/${sample.series}/instances/${sample.sop}`, {
        headers: { Authorization: `Bearer ${writerSecret}`, Accept: 'multipart/related; type="application/dicom"; transfer-syntax=*' },
      });
      expect(res.status).toBe(200);
      const [stored] = multipartParts(Buffer.from(await res.arrayBuffer()), res.headers.get('content-type')!);
      expect(stored!.equals(asStored(sample.bytes)), sample.id).toBe(true);
    }
  });

  it('transcodes to Explicit VR Little Endian by default, with the same pixels', async () => {
    for (const id of ['mr_small_jpegls_lossless', 'mr_small_implicit', 'us_rgb_big_endian', 'xa_jpeg_lossless_sv1_multiframe']) {
      const sample = byId(id);
      const part = await client.retrieveInstance(ids(sample));
      const got = parseDicom(new Uint8Array(part as ArrayBuffer), { stopAtPixelData: false });
      expect(got.transferSyntaxUid, id).toBe('1.2.840.10008.1.2.1');
      const original = parseDicom(new Uint8Array(sample.bytes), { stopAtPixelData: false });
      const a = await decodeFrame(got, 0);
      const b = await decodeFrame(original, 0);
      expect(Buffer.from(a.data.buffer, a.data.byteOffset, a.data.byteLength).equals(Buffer.from(b.data.buffer, b.data.byteOffset, b.data.byteLength)), id).toBe(true);
    }
  });

  it('retrieves frames uncompressed, equal to the decoded pixels', async () => {
    const xa = byId('xa_jpeg_lossless_sv1_multiframe');
    const frames = await client.retrieveInstanceFrames({ ...ids(xa), frameNumbers: [2, 4] });
    expect(frames).toHaveLength(2);
    const original = parseDicom(new Uint8Array(xa.bytes), { stopAtPixelData: false });
    for (const [i, frame] of [1, 3].entries()) {
      const decoded = await decodeFrame(original, frame);
      expect(Buffer.from(frames[i] as ArrayBuffer).equals(Buffer.from(decoded.data.buffer, decoded.data.byteOffset, decoded.data.byteLength))).toBe(true);
    }
    const be = byId('us_rgb_big_endian');
    const [rgb] = await client.retrieveInstanceFrames({ ...ids(be), frameNumbers: [1] });
    const beDecoded = await decodeFrame(parseDicom(new Uint8Array(be.bytes), { stopAtPixelData: false }), 0);
    expect(Buffer.from(rgb as ArrayBuffer).equals(Buffer.from(beDecoded.data.buffer, beDecoded.data.byteOffset, beDecoded.data.byteLength))).toBe(true);
  });

  it('retrieves rendered images through the platform renderer', async () => {
    const ct = byId('ct_small_explicit_le');
    const [png] = (await client.retrieveInstanceRendered({ ...ids(ct), mediaTypes: [{ mediaType: 'image/png' }], queryParams: { window: '40,400' } })) as ArrayBuffer[];
    const { data, info } = await sharp(Buffer.from(png!)).toColourspace('b-w').raw().toBuffer({ resolveWithObject: true });
    expect([info.width, info.height]).toEqual([128, 128]);
    const expected = renderDecoded(await decodeDicomFrame(new Uint8Array(ct.bytes), 0), { window: { center: 40, width: 400 } }).image;
    expect(Buffer.from(data).equals(Buffer.from(expected.data))).toBe(true);
    const [jpeg] = (await client.retrieveInstanceRendered(ids(ct))) as ArrayBuffer[];
    expect(Buffer.from(jpeg!).subarray(0, 3).equals(Buffer.from([0xff, 0xd8, 0xff]))).toBe(true);
  });
});
