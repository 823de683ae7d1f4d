import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { and, desc, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GET as getUploadRoute } from '@/app/api/uploads/[id]/route';
import { getDb } from '@/db';
import { findInstanceWithContext } from '@/db/queries/instances';
import { auditLog, instances, patients, series, studies, uploads } from '@/db/schema';
import { resetEnvForTests } from '@/lib/env';
import { dicomCorpus, niftiCorpus, type CorpusEntry } from '@/lib/testing/corpus';
import { makeSeries } from '@/lib/testing/dicom-series';
import { createTestToken } from '@/lib/testing/fixtures';
import { serveHandlers } from '@/lib/testing/http';
import { tusUpload, type TusResult } from '@/lib/testing/tus-client';
import { writeDicom } from '@/lib/dicom/writer';
import { objectPath, uploadsDir } from '@/lib/storage';
import { handleTusRequest, resetTusServerForTests } from './tus-server';
import { makeZip } from './archive.test';

let base: string;
let close: () => Promise<void>;
let token: string;
let tokenId: string;

beforeAll(async () => {
  ({ secret: token, id: tokenId } = await createTestToken('clinician'));
  ({ url: base, close } = await serveHandlers({ '/api/upload': handleTusRequest }));
});
afterAll(async () => close());

const endpoint = () => `${base}/api/upload`;
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');
type Summary = { id: string; status: string; studyId: string | null; sha256: string; result: { instances: number; duplicates: number; items: { instanceId: string }[]; skipped: unknown[] } };
type ErrorBody = { error: { code: string; message: string; details?: { reason?: string } } };

async function upload(data: Buffer, metadata: Record<string, string> = {}, options: { token?: string; chunkSize?: number } = {}): Promise<TusResult> {
  return tusUpload(endpoint(), data, { token: options.token ?? token, metadata: { sha256: sha256(data), ...metadata }, chunkSize: options.chunkSize });
}

async function instanceBySop(sopInstanceUid: string) {
  const db = await getDb();
  const [row] = await db
    .select({ instance: instances, series, study: studies, patient: patients })
    .from(instances)
    .innerJoin(series, eq(series.id, instances.seriesId))
    .innerJoin(studies, eq(studies.id, series.studyId))
    .innerJoin(patients, eq(patients.id, studies.patientId))
    .where(eq(instances.sopInstanceUid, sopInstanceUid));
  return row;
}

async function patientByKey(patientKey: string) {
  const [row] = await (await getDb()).select().from(patients).where(eq(patients.patientKey, patientKey));
  return row;
}

async function ingestAudit(uploadId: string) {
  return (await getDb())
    .select()
    .from(auditLog)
    .where(and(eq(auditLog.action, 'upload.ingest'), eq(auditLog.resourceId, uploadId)));
}

const uploadIdOf = (result: TusResult) => result.url!.split('/').pop()!;
const tag = (entry: CorpusEntry, name: string) => entry.reference.tags?.[name] ?? null;

describe('POST /api/upload (tus) with every corpus file', () => {
  const seen = new Set<string>();

  it('refuses a dataset without UIDs that holds no image, with a clear 422', async () => {
    const data = writeDicom([{ tag: 0x00100010, vr: 'PN', value: 'No^Uids' }, { tag: 0x00080060, vr: 'CS', value: 'SR' }], { sopClassUid: '1.2.840.10008.5.1.4.1.1.88.11', sopInstanceUid: '' });
    const result = await upload(data);
    expect(result.status).toBe(422);
    expect((result.body as ErrorBody).error).toMatchObject({ code: 'invalid_dicom', details: { reason: 'missing_uid' } });
  });

  for (const entry of dicomCorpus()) {
    const sop = () => String(tag(entry, 'SOPInstanceUID') ?? '').trim();
    const isDicomdir = entry.categories.includes('dicomdir') && !tag(entry, 'SOPInstanceUID');
    const lacksUids = !isDicomdir && !tag(entry, 'SOPInstanceUID');
    if (lacksUids && !entry.expect_error) {
      it(`stores ${entry.id}, an image without Study/Series/SOP Instance UIDs, under UIDs made from its content`, async () => {
        const data = readFileSync(entry.path);
        const result = await upload(data, { filename: path.basename(entry.path) });
        expect(result, JSON.stringify(result.body)).toMatchObject({ ok: true, status: 200 });
        const summary = result.body as Summary;
        const row = await findInstanceWithContext(await getDb(), summary.result.items[0]!.instanceId);
        for (const uid of [row!.study.studyInstanceUid, row!.series.seriesInstanceUid, row!.instance.sopInstanceUid]) {
          expect(uid).toMatch(/^2\.25\.\d+$/);
          expect(uid.length).toBeLessThanOrEqual(64);
        }
        expect(row!.instance.metadata).toMatchObject({ generatedUids: ['studyInstanceUid', 'seriesInstanceUid', 'sopInstanceUid'] });
        expect(row!.patient.patientKey).toBe(tag(entry, 'PatientID'));
        // The stored file is the upload (preamble blanked), not a rewritten one.
        expect(readFileSync(objectPath(row!.instance.storageKey)).subarray(128).equals(data.subarray(128))).toBe(true);
        // The same file again is a duplicate of the first, not a second study.
        const again = await upload(data, { filename: 'again.dcm' });
        expect((again.body as Summary).result).toMatchObject({ instances: 0, duplicates: 1 });
        expect((again.body as Summary).studyId).toBe(row!.study.id);
        // So is the same dataset behind another preamble (which storage blanks anyway).
        const otherPreamble = Buffer.from(data);
        otherPreamble.fill(0x41, 0, 16);
        expect(((await upload(otherPreamble, { filename: 'preamble.dcm' })).body as Summary).result).toMatchObject({ instances: 0, duplicates: 1 });
      });
    } else if (!entry.expect_error && !isDicomdir) {
      it(`stores ${entry.id} with its metadata`, async () => {
        const data = readFileSync(entry.path);
        // Stored before: by an earlier file of this corpus, or by another test file of the run
        // (the database is shared; files whose UIDs cannot be made fresh, such as deflated ones).
        const duplicate = seen.has(sop()) || (await instanceBySop(sop())) !== undefined;
        // A patient already on file keeps the name it was first stored with (the fuzz test stores
        // mutated copies of the same patients, names included, into the same database).
        const knownPatient = !!tag(entry, 'PatientID') && (await patientByKey(String(tag(entry, 'PatientID')))) !== undefined;
        const result = await upload(data, { filename: path.basename(entry.path) });
        expect(result, JSON.stringify(result.body)).toMatchObject({ ok: true, status: 200 });
        const summary = result.body as Summary;
        expect(summary).toMatchObject({ status: 'ready', sha256: sha256(data) });
        seen.add(sop());
        expect(summary.result).toMatchObject({ instances: duplicate ? 0 : 1, duplicates: duplicate ? 1 : 0 });

        const row = await instanceBySop(sop());
        expect(row).toBeDefined();
        expect(row!.study.studyInstanceUid).toBe(String(tag(entry, 'StudyInstanceUID')).trim());
        expect(row!.series.seriesInstanceUid).toBe(String(tag(entry, 'SeriesInstanceUID')).trim());
        expect(row!.series.modality ?? null).toBe(tag(entry, 'Modality') || null);
        expect(summary.studyId).toBe(row!.study.id);
        const patientId = tag(entry, 'PatientID');
        if (patientId) expect(row!.patient.patientKey).toBe(patientId);
        else expect(row!.patient.patientKey).toMatch(/^ANON-/);
        if (!duplicate) {
          if (!knownPatient) expect(row!.patient.name ?? null).toBe(tag(entry, 'PatientName') || null);
          expect(row!.instance.rows ?? null).toBe(tag(entry, 'Rows'));
          expect(row!.instance.columns ?? null).toBe(tag(entry, 'Columns'));
          expect(row!.instance.frames).toBe(Number(tag(entry, 'NumberOfFrames') ?? 1));
          expect(row!.instance.transferSyntaxUid ?? null).toBe(tag(entry, 'TransferSyntaxUID'));
          expect(row!.instance.sizeBytes).toBe(data.length);
          // The stored copy is the upload with its 128-byte preamble blanked (polyglot files).
          const stored = readFileSync(objectPath(row!.instance.storageKey));
          expect(stored.length).toBe(data.length);
          if (entry.reference.preamble) expect(stored.subarray(0, 128).every((b) => b === 0)).toBe(true);
          expect(stored.subarray(128).equals(data.subarray(128))).toBe(true);
        }
      });
    } else if (isDicomdir) {
      it(`refuses the DICOMDIR ${entry.id} with a clear 422`, async () => {
        const result = await upload(readFileSync(entry.path));
        expect(result.status).toBe(422);
        expect((result.body as ErrorBody).error).toMatchObject({ code: 'invalid_dicom', details: { reason: 'dicomdir' } });
      });
    }
  }

  for (const entry of niftiCorpus().filter((e) => !e.expect_error)) {
    it(`stores the NIfTI volume ${entry.id} with generated UIDs and the patient from the upload`, async () => {
      const data = readFileSync(entry.path);
      const result = await upload(data, { filename: path.basename(entry.path), patientName: 'Doe^Jane', patientId: `NII-${entry.id}`, modality: 'MR' });
      expect(result, JSON.stringify(result.body)).toMatchObject({ ok: true, status: 200 });
      const summary = result.body as Summary;
      const db = await getDb();
      const [row] = await db
        .select({ instance: instances, series, study: studies, patient: patients })
        .from(instances)
        .innerJoin(series, eq(series.id, instances.seriesId))
        .innerJoin(studies, eq(studies.id, series.studyId))
        .innerJoin(patients, eq(patients.id, studies.patientId))
        .where(eq(instances.id, summary.result.items[0]!.instanceId));
      expect(row!.instance.format).toBe('nifti');
      expect(row!.patient).toMatchObject({ name: 'Doe^Jane', patientKey: `NII-${entry.id}` });
      expect(row!.series.modality).toBe('MR');
      for (const uid of [row!.study.studyInstanceUid, row!.series.seriesInstanceUid, row!.instance.sopInstanceUid]) {
        expect(uid).toMatch(/^2\.25\.\d+$/);
        expect(uid.length).toBeLessThanOrEqual(64);
      }
      const dims = entry.reference.dims as number[];
      expect([row!.instance.columns, row!.instance.rows]).toEqual([dims[0], dims[1]]);
      expect(row!.instance.frames).toBe((dims[2] ?? 1) * (dims[3] ?? 1));
      expect(readFileSync(objectPath(row!.instance.storageKey)).equals(data)).toBe(true);
    });
  }

  const broken = [...dicomCorpus(), ...niftiCorpus()].filter((e) => e.expect_error);
  for (const entry of broken) {
    it(`refuses the broken file ${entry.id} with a clear 4xx and an audit row, storing nothing`, async () => {
      const db = await getDb();
      const before = await db.$count(instances);
      const result = await upload(readFileSync(entry.path), { filename: path.basename(entry.path) });
      expect(result.ok).toBe(false);
      expect(result.status).toBeGreaterThanOrEqual(400);
      expect(result.status).toBeLessThan(500);
      const body = result.body as ErrorBody;
      expect(body.error.code).toMatch(/^[a-z_]+$/);
      expect(body.error.message.length).toBeGreaterThan(5);
      expect(await db.$count(instances)).toBe(before);
      // An empty upload is complete (and refused) at creation, so the client never learns its URL.
      const [row] = result.url
        ? await db.select().from(uploads).where(eq(uploads.id, uploadIdOf(result)))
        : await db.select().from(uploads).where(and(eq(uploads.tokenId, tokenId), eq(uploads.errorCode, body.error.code))).orderBy(desc(uploads.createdAt)).limit(1);
      const id = row!.id;
      expect(row).toMatchObject({ status: 'failed', errorCode: body.error.code });
      expect((await ingestAudit(id)).map((a) => a.outcome)).toEqual(['failure']);
      expect(existsSync(path.join(uploadsDir(), id))).toBe(false);
    });
  }
});

function ctSmall(): { data: Buffer; uids: { study: string; series: string; sop: string } } {
  const entry = dicomCorpus().find((e) => e.id === 'ct_small_explicit_le');
  if (!entry) throw new Error('fixture ct_small_explicit_le missing');
  return {
    data: readFileSync(entry.path),
    uids: {
      study: String(tag(entry, 'StudyInstanceUID')),
      series: String(tag(entry, 'SeriesInstanceUID')),
      sop: String(tag(entry, 'SOPInstanceUID')),
    },
  };
}

describe('archives', () => {
  it('turns a zip of a CT series into one study with one series, and a second upload adds nothing', async () => {
    const { data, uids } = ctSmall();
    const made = makeSeries(data, uids, 12);
    const zip = readFileSync(
      await makeZip('ct-series.zip', [
        ...made.files.map((f, i) => ({ name: `CT/slice-${String(i).padStart(3, '0')}.dcm`, data: f })),
        { name: 'CT/README.txt', data: Buffer.from('exported by a scanner') },
      ]),
    );
    const first = await upload(zip, { filename: 'ct-series.zip' });
    expect(first, JSON.stringify(first.body)).toMatchObject({ ok: true, status: 200 });
    const summary = first.body as Summary & { result: { studyIds: string[]; skipped: { name: string; code: string }[] } };
    expect(summary.result).toMatchObject({ instances: 12, duplicates: 0, studyIds: [summary.studyId] });
    expect(summary.result.skipped).toEqual([expect.objectContaining({ name: 'README.txt', code: 'unsupported_format' })]);

    const db = await getDb();
    const studyRows = await db.select().from(studies).where(eq(studies.studyInstanceUid, made.studyUid));
    expect(studyRows).toHaveLength(1);
    const seriesRows = await db.select().from(series).where(eq(series.studyId, studyRows[0]!.id));
    expect(seriesRows.map((s) => s.seriesInstanceUid)).toEqual([made.seriesUid]);
    expect(await db.$count(instances, eq(instances.seriesId, seriesRows[0]!.id))).toBe(12);

    const again = await upload(zip, { filename: 'ct-series-again.zip' });
    expect((again.body as Summary).result).toMatchObject({ instances: 0, duplicates: 12 });
    expect(await db.$count(instances, eq(instances.seriesId, seriesRows[0]!.id))).toBe(12);
  });

  it('refuses a corrupt zip whole, storing none of it', async () => {
    const { data, uids } = ctSmall();
    const made = makeSeries(data, uids, 3);
    const zip = readFileSync(await makeZip('damaged.zip', made.files.map((f, i) => ({ name: `s${i}.dcm`, data: f, store: true }))));
    zip[zip.length - 2000] = zip[zip.length - 2000]! ^ 0xff;
    const result = await upload(zip);
    expect(result.status).toBe(422);
    expect((result.body as ErrorBody).error.code).toBe('invalid_archive');
    for (const sop of made.sopUids) expect(await instanceBySop(sop)).toBeUndefined();
  });

  it('refuses a zip with nothing readable in it', async () => {
    const zip = readFileSync(await makeZip('notes.zip', [{ name: 'a.txt', data: Buffer.from('hello') }]));
    const result = await upload(zip);
    expect(result.status).toBe(422);
    expect((result.body as ErrorBody).error.code).toBe('no_images');
  });
});

describe('the tus protocol and its guards', () => {
  it('advertises its extensions and checksum algorithms', async () => {
    const res = await fetch(endpoint(), { method: 'OPTIONS' });
    expect(res.status).toBe(204);
    expect(res.headers.get('tus-extension')?.split(',')).toEqual(expect.arrayContaining(['creation', 'termination', 'expiration', 'checksum']));
    expect(res.headers.get('tus-checksum-algorithm')).toBe('sha1,sha256');
    expect(Number(res.headers.get('tus-max-size'))).toBe(1024 ** 3);
  });

  it('answers 401 without credentials and 403 for viewers, in the error shape', async () => {
    const anonymous = await fetch(endpoint(), { method: 'POST', headers: { 'Tus-Resumable': '1.0.0', 'Upload-Length': '10' } });
    expect(anonymous.status).toBe(401);
    expect(await anonymous.json()).toEqual({ error: { code: 'unauthorized', message: 'Authentication required' } });
    const viewer = await createTestToken('viewer');
    const refused = await upload(Buffer.from('x'), {}, { token: viewer.secret });
    expect(refused.status).toBe(403);
    expect((refused.body as ErrorBody).error.code).toBe('forbidden');
  });

  it('refuses uploads over the size limit before receiving them, and audits the refusal', async () => {
    const res = await fetch(endpoint(), {
      method: 'POST',
      headers: { 'Tus-Resumable': '1.0.0', 'Upload-Length': String(1024 ** 3 + 1), Authorization: `Bearer ${token}` },
    });
    expect(res.status).toBe(413);
    expect((await res.json()).error.code).toBe('payload_too_large');
    const rows = await (await getDb())
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.action, 'upload.refused'), eq(auditLog.tokenId, tokenId)));
    expect(rows.some((r) => (r.details as { status?: number }).status === 413)).toBe(true);
  });

  it('refuses a .nii.gz that would inflate past the limit quickly, with flat memory', async () => {
    // A valid NIfTI header declaring 2048×2048×512 int16 (4 GiB) followed by zeros: gzip packs
    // the first 64 MiB of it into about 64 KB.
    const header = Buffer.alloc(352);
    header.writeInt32LE(348, 0);
    [3, 2048, 2048, 512, 1, 1, 1, 1].forEach((d, i) => header.writeInt16LE(d, 40 + i * 2));
    header.writeInt16LE(4, 70);
    header.writeInt16LE(16, 72);
    for (let i = 0; i < 4; i++) header.writeFloatLE(1, 76 + i * 4);
    header.writeFloatLE(352, 108);
    header.write('n+1\0', 344, 'latin1');
    const bomb = gzipSync(Buffer.concat([header, Buffer.alloc(64 * 1024 * 1024)]), { level: 9 });
    expect(bomb.length).toBeLessThan(200 * 1024);
    process.env.UPLOAD_MAX_INFLATED_BYTES = String(16 * 1024 * 1024);
    resetEnvForTests();
    try {
      const rssBefore = process.memoryUsage().rss;
      const started = Date.now();
      const result = await upload(bomb, { filename: 'bomb.nii.gz' });
      expect(Date.now() - started).toBeLessThan(1000);
      expect(result.status).toBe(413);
      expect((result.body as ErrorBody).error).toMatchObject({ code: 'payload_too_large', details: { reason: 'inflate_limit' } });
      expect(process.memoryUsage().rss - rssBefore).toBeLessThan(64 * 1024 * 1024);
    } finally {
      delete process.env.UPLOAD_MAX_INFLATED_BYTES;
      resetEnvForTests();
    }
  });

  it('honours a configured smaller limit', async () => {
    process.env.UPLOAD_MAX_BYTES = '1000';
    resetEnvForTests();
    resetTusServerForTests();
    try {
      const result = await upload(Buffer.alloc(2000, 1));
      expect(result.status).toBe(413);
    } finally {
      delete process.env.UPLOAD_MAX_BYTES;
      resetEnvForTests();
      resetTusServerForTests();
    }
  });

  it('refuses an empty file and malformed metadata with 4xx', async () => {
    const empty = await upload(Buffer.alloc(0));
    expect(empty.status).toBe(422);
    expect((empty.body as ErrorBody).error.code).toBe('empty_file');
    const bad = await tusUpload(endpoint(), Buffer.from('abc'), { token, metadata: { sha256: 'not-a-digest' } });
    expect(bad.status).toBe(400);
    expect((bad.body as ErrorBody).error.code).toBe('validation_error');
  });

  it('verifies the whole-file sha256 the client declared before registering anything', async () => {
    const { data, uids } = ctSmall();
    const [file] = makeSeries(data, uids, 1).files;
    const result = await tusUpload(endpoint(), file!, { token, metadata: { sha256: sha256(Buffer.from('something else')) } });
    expect(result.status).toBe(422);
    expect((result.body as ErrorBody).error.code).toBe('checksum_mismatch');
    expect(await (await getDb()).$count(instances, eq(instances.sha256, sha256(file!)))).toBe(0);
  });

  it('verifies Upload-Checksum on each chunk (tus checksum extension)', async () => {
    const data = Buffer.from('0123456789'.repeat(100));
    const created = await fetch(endpoint(), {
      method: 'POST',
      headers: { 'Tus-Resumable': '1.0.0', 'Upload-Length': String(data.length), Authorization: `Bearer ${token}` },
    });
    expect(created.status).toBe(201);
    const url = new URL(created.headers.get('location')!, endpoint()).toString();
    const patch = (body: Buffer, offset: number, checksum: string) =>
      fetch(url, {
        method: 'PATCH',
        headers: {
          'Tus-Resumable': '1.0.0',
          'Upload-Offset': String(offset),
          'Content-Type': 'application/offset+octet-stream',
          'Upload-Checksum': checksum,
          Authorization: `Bearer ${token}`,
        },
        body: new Uint8Array(body),
      });
    const half = data.subarray(0, 500);
    const wrong = await patch(half, 0, `sha256 ${createHash('sha256').update('nope').digest('base64')}`);
    expect(wrong.status).toBe(460);
    const head = await fetch(url, { method: 'HEAD', headers: { 'Tus-Resumable': '1.0.0', Authorization: `Bearer ${token}` } });
    expect(head.headers.get('upload-offset')).toBe('0');
    const unsupported = await patch(half, 0, `md5 ${createHash('md5').update(half).digest('base64')}`);
    expect(unsupported.status).toBe(400);
    const right = await patch(half, 0, `sha1 ${createHash('sha1').update(half).digest('base64')}`);
    expect(right.status).toBe(204);
    expect(right.headers.get('upload-offset')).toBe('500');
  });

  it("answers 404 for another client's upload, as for a missing one", async () => {
    const created = await fetch(endpoint(), {
      method: 'POST',
      headers: { 'Tus-Resumable': '1.0.0', 'Upload-Length': '100', Authorization: `Bearer ${token}` },
    });
    const url = new URL(created.headers.get('location')!, endpoint()).toString();
    const other = await createTestToken('clinician');
    for (const method of ['HEAD', 'PATCH', 'DELETE']) {
      const res = await fetch(url, {
        method,
        headers: { 'Tus-Resumable': '1.0.0', 'Upload-Offset': '0', 'Content-Type': 'application/offset+octet-stream', Authorization: `Bearer ${other.secret}` },
        body: method === 'PATCH' ? new Uint8Array([1]) : undefined,
      });
      expect(res.status, method).toBe(404);
    }
    for (const bad of ['../../etc/passwd', '%2e%2e%2fetc%2fpasswd', 'not-a-uuid', '..%5c..%5cwin']) {
      const res = await fetch(`${endpoint()}/${bad}`, { method: 'HEAD', headers: { 'Tus-Resumable': '1.0.0', Authorization: `Bearer ${token}` } });
      expect(res.status, bad).toBe(404);
    }
    const terminated = await fetch(url, { method: 'DELETE', headers: { 'Tus-Resumable': '1.0.0', Authorization: `Bearer ${token}` } });
    expect(terminated.status).toBe(204);
  });

  it('never uses client file names for storage', async () => {
    const { data, uids } = ctSmall();
    const [file] = makeSeries(data, uids, 1).files;
    const result = await upload(file!, { filename: '../../../etc/passwd', relativePath: '..\\..\\boot.ini\u0000.dcm' });
    expect(result.status).toBe(200);
    const id = uploadIdOf(result);
    const [row] = await (await getDb()).select().from(uploads).where(eq(uploads.id, id));
    expect(row!.filename).toBe('boot.ini.dcm');
    const stored = await (await getDb()).select().from(instances).where(eq(instances.uploadId, id));
    expect(stored[0]!.storageKey).toMatch(/^[0-9a-f-]{36}$/);
    expect(readdirSync(path.dirname(objectPath(stored[0]!.storageKey)))).toContain(stored[0]!.storageKey);
    expect(row!.tokenId).toBe(tokenId);
  });
});

describe('resuming', () => {
  /** A PATCH body that sends `bytes` and then either ends or dies like a killed client. */
  function body(bytes: Buffer, die: boolean, onSent?: () => void): ReadableStream<Uint8Array> {
    let sent = false;
    return new ReadableStream({
      async pull(controller) {
        if (!sent) {
          sent = true;
          // Several small pieces so that the server really has part of the chunk on disk.
          for (let i = 0; i < bytes.length; i += 16 * 1024) controller.enqueue(bytes.subarray(i, i + 16 * 1024));
          onSent?.();
          return;
        }
        await new Promise((r) => setTimeout(r, 50));
        if (die) controller.error(new Error('client killed'));
        else controller.close();
      },
    });
  }

  async function offsetOf(url: string): Promise<number> {
    const res = await fetch(url, { method: 'HEAD', headers: { 'Tus-Resumable': '1.0.0', Authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
    return Number(res.headers.get('upload-offset'));
  }

  it('finishes uploads interrupted at random offsets, with server restarts, byte-identical', async () => {
    const entry = niftiCorpus().find((e) => e.id === 'niigz_piesno_float64') ?? niftiCorpus()[0]!;
    const data = readFileSync(entry.path);
    for (let round = 0; round < 3; round++) {
      const created = await fetch(endpoint(), {
        method: 'POST',
        headers: {
          'Tus-Resumable': '1.0.0',
          'Upload-Length': String(data.length),
          'Upload-Metadata': `sha256 ${Buffer.from(sha256(data)).toString('base64')}`,
          Authorization: `Bearer ${token}`,
        },
      });
      expect(created.status).toBe(201);
      const path = new URL(created.headers.get('location')!, endpoint()).pathname;
      let offset = 0;
      let interruptions = 0;
      let sentUpTo = 0;
      let final: Response | undefined;
      while (!final) {
        const last = interruptions >= 4;
        const cut = last ? data.length : offset + 1 + Math.floor(Math.random() * (data.length - offset - 1));
        const restart = !last && Math.random() < 0.5;
        const attempt = fetch(`${base}${path}`, {
          method: 'PATCH',
          headers: { 'Tus-Resumable': '1.0.0', 'Upload-Offset': String(offset), 'Content-Type': 'application/offset+octet-stream', Authorization: `Bearer ${token}` },
          body: body(data.subarray(offset, cut), !last),
          // @ts-expect-error streamed request body
          duplex: 'half',
        }).catch(() => null);
        if (restart) {
          // Kill the server mid-request, then start a fresh one: state survives only on disk and in the database.
          await new Promise((r) => setTimeout(r, 20));
          await close();
          resetTusServerForTests();
          ({ url: base, close } = await serveHandlers({ '/api/upload': handleTusRequest }));
        }
        const res = await attempt;
        if (last && res?.status === 423) {
          // The interrupted request still holds the upload until the server notices it died;
          // real clients (tus-js-client) retry 423 the same way.
          await new Promise((r) => setTimeout(r, 100));
        } else if (last) final = res ?? undefined;
        else {
          interruptions++;
          const next = await offsetOf(`${base}${path}`);
          expect(next).toBeGreaterThanOrEqual(offset);
          // Never more than was ever sent: an earlier interrupted request may still be writing
          // (this one then got 423), so the bound is the furthest cut so far.
          sentUpTo = Math.max(sentUpTo, cut);
          expect(next).toBeLessThanOrEqual(sentUpTo);
          offset = next;
        }
      }
      expect(final.status).toBe(200);
      const summary = (await final.json()) as Summary;
      expect(summary).toMatchObject({ status: 'ready', sha256: sha256(data) });
      const [row] = await (await getDb()).select().from(instances).where(eq(instances.id, summary.result.items[0]!.instanceId));
      expect(sha256(readFileSync(objectPath(row!.storageKey)))).toBe(sha256(data));
    }
  });
});

describe('GET /api/uploads/{id}', () => {
  async function status(id: string, secret = token) {
    const res = await getUploadRoute(new Request(`http://app.test/api/uploads/${id}`, { headers: { authorization: `Bearer ${secret}` } }), {
      params: Promise.resolve({ id }),
    });
    return { status: res.status, body: await res.json() };
  }

  it('reports receiving with the bytes so far, then ready with the study', async () => {
    const { data, uids } = ctSmall();
    const [file] = makeSeries(data, uids, 1).files;
    const created = await fetch(endpoint(), {
      method: 'POST',
      headers: { 'Tus-Resumable': '1.0.0', 'Upload-Length': String(file!.length), 'Upload-Metadata': `filename ${Buffer.from('slice.dcm').toString('base64')}`, Authorization: `Bearer ${token}` },
    });
    const url = new URL(created.headers.get('location')!, endpoint()).toString();
    const id = url.split('/').pop()!;
    const send = (from: number, to: number) =>
      fetch(url, {
        method: 'PATCH',
        headers: { 'Tus-Resumable': '1.0.0', 'Upload-Offset': String(from), 'Content-Type': 'application/offset+octet-stream', Authorization: `Bearer ${token}` },
        body: new Uint8Array(file!.subarray(from, to)),
      });
    expect((await send(0, 1000)).status).toBe(204);
    expect((await status(id)).body).toMatchObject({ id, status: 'receiving', receivedBytes: 1000, size: file!.length, filename: 'slice.dcm', studyId: null });
    const done = await send(1000, file!.length);
    expect(done.status).toBe(200);
    const finished = await status(id);
    expect(finished.body).toMatchObject({ status: 'ready', receivedBytes: file!.length, sha256: sha256(file!), error: null, result: { instances: 1 } });
    expect(finished.body.studyId).toMatch(/^[0-9a-f-]{36}$/);
    const stranger = await createTestToken('clinician');
    expect((await status(id, stranger.secret)).status).toBe(404);
  });
});
