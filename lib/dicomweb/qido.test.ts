import { randomUUID } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { GET as searchStudies } from '@/app/dicomweb/studies/route';
import { GET as searchSeriesOfStudy } from '@/app/dicomweb/studies/[study]/series/route';
import { getDb } from '@/db';
import { registerInstance } from '@/db/queries/catalog';
import { auditLog } from '@/db/schema';
import { uidFromUuid } from '@/lib/ingest/uid';
import { createTestToken } from '@/lib/testing/fixtures';

const tag = `Q${Date.now().toString(36).toUpperCase()}`;
let token: { secret: string; id: string };
const seeded: Array<{ studyUid: string; studyId: string; patientId: string }> = [];

async function seed(n: number, o: { name: string; date: string; modality: string; series?: number }) {
  const studyUid = uidFromUuid();
  let last;
  for (let s = 0; s < (o.series ?? 1); s++) {
    last = await registerInstance(await getDb(), {
      patient: { patientKey: `${tag}-P${n}`, issuer: '', name: o.name },
      study: { studyInstanceUid: studyUid, studyDate: o.date, accessionNumber: `${tag}-A${n}`, description: `Study ${n}` },
      series: { seriesInstanceUid: uidFromUuid(), modality: s === 0 ? o.modality : 'SR', seriesNumber: s + 1 },
      instance: { sopInstanceUid: uidFromUuid(), format: 'dicom', storageKey: randomUUID(), sizeBytes: 10, sha256: '0'.repeat(64), rows: 2, columns: 2 },
    });
  }
  seeded.push({ studyUid, studyId: last!.studyId, patientId: last!.patientId });
}

type Handler = (req: Request, ctx: { params: Promise<Record<string, string>> }) => Promise<Response>;
async function qido(handler: Handler, query: string, params: Record<string, string> = {}, headers: Record<string, string> = {}) {
  const res = await handler(new Request(`http://app.test/dicomweb/studies?${query}`, { headers: { authorization: `Bearer ${token.secret}`, ...headers } }), { params: Promise.resolve(params) });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : null };
}
const uids = (body: Array<Record<string, { Value?: unknown[] }>>) => body.map((d) => d['0020000D']?.Value?.[0]);

beforeAll(async () => {
  token = await createTestToken('viewer', ['dicomweb:read']);
  await seed(1, { name: `${tag}^Anna`, date: '20240105', modality: 'CT', series: 2 });
  await seed(2, { name: `${tag}^Bert`, date: '20240210', modality: 'MR' });
  await seed(3, { name: `${tag}^Berta`, date: '20231231', modality: 'CT' });
});

describe('QIDO-RS', () => {
  it('matches names with wildcards (case-insensitively), dates and ranges, modalities, UIDs', async () => {
    const all = await qido(searchStudies, `PatientName=${tag.toLowerCase()}*`);
    expect(all.status).toBe(200);
    expect(all.headers.get('content-type')).toBe('application/dicom+json');
    expect(uids(all.body).sort()).toEqual(seeded.map((s) => s.studyUid).sort());
    expect(uids((await qido(searchStudies, `PatientName=${tag}^Bert?`)).body)).toEqual([seeded[2]!.studyUid]);
    expect(uids((await qido(searchStudies, `PatientName=${tag}^Bert`)).body)).toEqual([seeded[1]!.studyUid]);
    expect(uids((await qido(searchStudies, `PatientID=${tag}-P*&StudyDate=20240101-20240131`)).body)).toEqual([seeded[0]!.studyUid]);
    expect(uids((await qido(searchStudies, `PatientID=${tag}-P*&StudyDate=-20231231`)).body)).toEqual([seeded[2]!.studyUid]);
    expect(uids((await qido(searchStudies, `PatientID=${tag}-P*&StudyDate=20240210`)).body)).toEqual([seeded[1]!.studyUid]);
    expect(uids((await qido(searchStudies, `PatientID=${tag}-P*&ModalitiesInStudy=MR`)).body)).toEqual([seeded[1]!.studyUid]);
    expect(uids((await qido(searchStudies, `00100020=${tag}-P*&00080061=SR`)).body)).toEqual([seeded[0]!.studyUid]);
    expect(uids((await qido(searchStudies, `StudyInstanceUID=${seeded[0]!.studyUid},${seeded[2]!.studyUid}`)).body).sort()).toEqual([seeded[0]!.studyUid, seeded[2]!.studyUid].sort());
    // A series-level key at study level finds studies holding such a series.
    expect(uids((await qido(searchStudies, `PatientID=${tag}-P*&Modality=SR`)).body)).toEqual([seeded[0]!.studyUid]);
  });

  it('answers the study attributes of PS3.18 with counts and a RetrieveURL', async () => {
    const { body } = await qido(searchStudies, `StudyInstanceUID=${seeded[0]!.studyUid}`);
    expect(body[0]).toMatchObject({
      '00080020': { vr: 'DA', Value: ['20240105'] },
      '00080061': { vr: 'CS', Value: ['CT', 'SR'] },
      '00100010': { vr: 'PN', Value: [{ Alphabetic: `${tag}^Anna` }] },
      '00100020': { vr: 'LO', Value: [`${tag}-P1`] },
      '00201206': { vr: 'IS', Value: [2] },
      '00201208': { vr: 'IS', Value: [2] },
      '00081190': { vr: 'UR', Value: [`http://app.test/dicomweb/studies/${seeded[0]!.studyUid}`] },
    });
    const series = await qido(searchSeriesOfStudy, 'Modality=SR', { study: seeded[0]!.studyUid });
    expect(series.body).toHaveLength(1);
    expect(series.body[0]).toMatchObject({ '00080060': { vr: 'CS', Value: ['SR'] }, '00200011': { vr: 'IS', Value: [2] }, '00201209': { vr: 'IS', Value: [1] } });
  });

  it('pages with limit/offset and says when more results exist', async () => {
    const first = await qido(searchStudies, `PatientName=${tag}*&limit=2`);
    expect(first.body).toHaveLength(2);
    expect(first.headers.get('warning')).toMatch(/additional results/);
    const rest = await qido(searchStudies, `PatientName=${tag}*&limit=2&offset=2`);
    expect(rest.body).toHaveLength(1);
    expect(rest.headers.get('warning')).toBeNull();
    expect(new Set([...uids(first.body), ...uids(rest.body)]).size).toBe(3);
  });

  it('refuses bad keys and values with 400, ignores valid unsupported keys with a Warning, and negotiates the media type', async () => {
    for (const bad of ['Nonsense=1', 'StudyDate=2024', 'StudyDate=20240301-20240101', 'limit=0', 'limit=100000', 'StudyInstanceUID=abc', 'includefield=Bogus']) {
      const res = await qido(searchStudies, bad);
      expect(res.status, bad).toBe(400);
      expect(res.body.error.code).toBe('bad_request');
    }
    const ignored = await qido(searchStudies, `PatientName=${tag}*&PatientWeight=70`);
    expect(ignored.status).toBe(200);
    expect(ignored.headers.get('warning')).toMatch(/PatientWeight/);
    expect((await qido(searchStudies, 'limit=1', {}, { accept: 'application/dicom+xml' })).status).toBe(406);
    expect((await qido(searchStudies, 'limit=1', {}, { accept: 'application/json' })).status).toBe(200);
  });

  it('audits every search as an access to patient data', async () => {
    const rows = () => getDb().then((db) => db.select().from(auditLog).where(and(eq(auditLog.tokenId, token.id), eq(auditLog.action, 'dicomweb.search_study'), eq(auditLog.studyId, seeded[1]!.studyId))));
    const before = (await rows()).length;
    await qido(searchStudies, `StudyInstanceUID=${seeded[1]!.studyUid}`);
    const after = await rows();
    expect(after).toHaveLength(before + 1);
    expect(after.at(-1)).toMatchObject({ outcome: 'success', patientId: seeded[1]!.patientId, role: 'viewer' });
  });
});
