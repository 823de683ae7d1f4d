import { randomUUID } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { GET as getStudy } from '@/app/api/studies/[id]/route';
import { GET as listStudiesRoute } from '@/app/api/studies/route';
import { GET as getUpload } from '@/app/api/uploads/[id]/route';
import { getDb } from '@/db';
import { registerInstance } from '@/db/queries/catalog';
import { insertUpload } from '@/db/queries/uploads';
import { auditLog } from '@/db/schema';
import { uidFromUuid } from '@/lib/ingest/uid';
import { createTestToken } from '@/lib/testing/fixtures';

let token: { secret: string; id: string };
const tagPrefix = `T${Date.now().toString(36).toUpperCase()}`;

async function seedStudy(n: number, overrides: { modality?: string; date?: string; name?: string; accession?: string } = {}) {
  return registerInstance(await getDb(), {
    patient: { patientKey: `${tagPrefix}-P${n}`, issuer: '', name: overrides.name ?? `${tagPrefix}^Patient${n}` },
    study: {
      studyInstanceUid: uidFromUuid(),
      studyDate: overrides.date ?? `2024010${n}`,
      accessionNumber: overrides.accession ?? `${tagPrefix}-ACC${n}`,
      description: `Study ${n}`,
    },
    series: { seriesInstanceUid: uidFromUuid(), modality: overrides.modality ?? 'CT', seriesNumber: 1 },
    instance: { sopInstanceUid: uidFromUuid(), format: 'dicom', storageKey: randomUUID(), sizeBytes: 10, sha256: '0'.repeat(64), rows: 2, columns: 2 },
  });
}

async function call(handler: (req: Request, ctx: { params: Promise<Record<string, string>> }) => Promise<Response>, url: string, params: Record<string, string> = {}, secret = token.secret) {
  const res = await handler(new Request(`http://app.test${url}`, { headers: { authorization: `Bearer ${secret}` } }), { params: Promise.resolve(params) });
  return { status: res.status, body: await res.json() };
}

beforeAll(async () => {
  token = await createTestToken('viewer');
  await seedStudy(1, { modality: 'CT', date: '20240101' });
  await seedStudy(2, { modality: 'MR', date: '20240215' });
  await seedStudy(3, { modality: 'CT', date: '20240320', name: `${tagPrefix}^O'Brien_100%` });
  await seedStudy(4, { modality: 'US', date: '20230101' });
  await seedStudy(5, { modality: 'MR', date: '20240401' });
});

describe('GET /api/studies', () => {
  it('searches patient name/id and accession, with counts', async () => {
    const { body } = await call(listStudiesRoute, `/api/studies?q=${tagPrefix}`);
    expect(body.total).toBe(5);
    expect(body.studies[0]).toMatchObject({ seriesCount: 1, instanceCount: 1, patient: { patientId: expect.stringContaining(tagPrefix) } });
    expect((await call(listStudiesRoute, `/api/studies?q=${tagPrefix}-ACC3`)).body.total).toBe(1);
    expect((await call(listStudiesRoute, `/api/studies?patientId=${tagPrefix}-P2`)).body.studies[0].description).toBe('Study 2');
    // LIKE wildcards in the search are taken literally.
    expect((await call(listStudiesRoute, `/api/studies?patientName=${encodeURIComponent("O'Brien_100%")}`)).body.total).toBe(1);
    expect((await call(listStudiesRoute, `/api/studies?q=${tagPrefix}&patientName=${encodeURIComponent('%')}`)).body.total).toBe(1);
  });

  it('filters by date range and modality, sorts, and pages without overlap', async () => {
    const q = `q=${tagPrefix}`;
    const ranged = await call(listStudiesRoute, `/api/studies?${q}&dateFrom=2024-01-01&dateTo=20240331&sort=studyDate&order=asc`);
    expect(ranged.body.studies.map((s: { studyDate: string }) => s.studyDate)).toEqual(['20240101', '20240215', '20240320']);
    const mr = await call(listStudiesRoute, `/api/studies?${q}&modality=mr`);
    expect(mr.body.studies.map((s: { modalities: string[] }) => s.modalities)).toEqual([['MR'], ['MR']]);
    const pages = [];
    for (let page = 1; page <= 3; page++) {
      pages.push(...(await call(listStudiesRoute, `/api/studies?${q}&pageSize=2&page=${page}&sort=studyDate&order=desc`)).body.studies.map((s: { id: string }) => s.id));
    }
    expect(new Set(pages).size).toBe(5);
  });

  it('rejects bad query parameters with 400 in the error shape', async () => {
    for (const bad of ['pageSize=1000', 'page=0', 'dateFrom=yesterday', 'sort=password', 'dateFrom=20240301&dateTo=20240101', 'modality=C%20T']) {
      const res = await call(listStudiesRoute, `/api/studies?${bad}`);
      expect(res.status, bad).toBe(400);
      expect(res.body.error.code).toBe('validation_error');
    }
  });

  it('requires authentication', async () => {
    const res = await call(listStudiesRoute, '/api/studies', {}, 'imp_invalid');
    expect(res.status).toBe(401);
  });
});

describe('GET /api/studies/{id}', () => {
  it('returns the study with its patient, series and instances, and audits the read', async () => {
    const seeded = await seedStudy(6, { modality: 'CT' });
    const res = await call(getStudy, `/api/studies/${seeded.studyId}`, { id: seeded.studyId });
    expect(res.status).toBe(200);
    expect(res.body.study).toMatchObject({
      id: seeded.studyId,
      patient: { id: seeded.patientId },
      series: [{ id: seeded.seriesId, instances: [{ id: seeded.instanceId, format: 'dicom' }] }],
    });
    const rows = await (await getDb())
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.action, 'study.read'), eq(auditLog.studyId, seeded.studyId)));
    expect(rows).toEqual([expect.objectContaining({ outcome: 'success', patientId: seeded.patientId, tokenId: token.id, role: 'viewer' })]);
  });

  it('answers 404 for unknown and malformed ids', async () => {
    expect((await call(getStudy, '/api/studies/x', { id: randomUUID() })).status).toBe(404);
    expect((await call(getStudy, '/api/studies/x', { id: '1 or 1=1' })).status).toBe(404);
  });
});

describe('GET /api/uploads/{id}', () => {
  it('shows an upload to its owner only', async () => {
    const owner = await createTestToken('clinician');
    const id = randomUUID();
    await insertUpload(await getDb(), { id, tokenId: owner.id, filename: 'a.dcm', status: 'failed', errorCode: 'invalid_dicom', errorMessage: 'Invalid DICOM file: truncated' });
    const mine = await call(getUpload, `/api/uploads/${id}`, { id }, owner.secret);
    expect(mine.body).toMatchObject({ id, status: 'failed', error: { code: 'invalid_dicom', message: 'Invalid DICOM file: truncated' } });
    const other = await call(getUpload, `/api/uploads/${id}`, { id }, (await createTestToken('clinician')).secret);
    expect(other.status).toBe(404);
    // Viewers upload nothing, so they have no uploads to look at.
    expect((await call(getUpload, `/api/uploads/${id}`, { id }, token.secret)).status).toBe(403);
  });
});
