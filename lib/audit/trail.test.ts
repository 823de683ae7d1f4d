import { randomUUID } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { getDb } from '@/db';
import { registerInstance } from '@/db/queries/catalog';
import { auditLog } from '@/db/schema';
import { uidFromUuid } from '@/lib/ingest/uid';
import { actorOfUser, createTestUser } from '@/lib/testing/fixtures';
import { recordAudit } from './index';
import { csvCell, exportTrail, parseAuditTrailQuery, searchTrail } from './trail';

async function readAll(stream: ReadableStream<Uint8Array>): Promise<string> {
  return new Response(stream).text();
}

describe('the whole audit trail for administrators', () => {
  it('filters by action prefix, outcome, user, role, patient and study (also by their DICOM ids), and pages', async () => {
    const admin = actorOfUser(await createTestUser('admin'));
    const radiologist = await createTestUser('radiologist');
    const tag = `t${randomUUID().slice(0, 8)}`;
    const studyUid = uidFromUuid();
    const registered = await registerInstance(await getDb(), {
      patient: { patientKey: `PK-${tag}`, issuer: '', name: 'Audit^Trail' },
      study: { studyInstanceUid: studyUid },
      series: { seriesInstanceUid: uidFromUuid(), modality: 'CT', seriesNumber: 1 },
      instance: { sopInstanceUid: uidFromUuid(), format: 'dicom', storageKey: randomUUID(), sizeBytes: 1, sha256: '0'.repeat(64), rows: 1, columns: 1 },
    });
    const patient = { id: registered.patientId };
    const study = { id: registered.studyId, studyInstanceUid: studyUid };
    const who = actorOfUser(radiologist, '198.51.100.7');
    await recordAudit(who, { action: `${tag}.read`, outcome: 'success', patientId: patient.id, studyId: study.id });
    await recordAudit(who, { action: `${tag}.read`, outcome: 'denied', patientId: patient.id, studyId: study.id });
    await recordAudit(admin, { action: `${tag}.write`, outcome: 'failure' });

    const search = (raw: Record<string, string>) => searchTrail(admin, parseAuditTrailQuery(raw));
    expect((await search({ action: `${tag}.*` })).total).toBe(3);
    expect((await search({ action: `${tag}.read` })).total).toBe(2);
    expect((await search({ action: `${tag}.*`, outcome: 'denied' })).entries).toEqual([
      expect.objectContaining({ outcome: 'denied', eventOutcomeIndicator: 8, userEmail: radiologist.email, role: 'radiologist', clientAddress: '198.51.100.7' }),
    ]);
    expect((await search({ action: `${tag}.*`, user: radiologist.email.slice(0, 20) })).total).toBe(2);
    expect((await search({ action: `${tag}.*`, user: radiologist.id })).total).toBe(2);
    expect((await search({ action: `${tag}.*`, role: 'admin' })).total).toBe(1);
    expect((await search({ action: `${tag}.*`, address: '198.51.100.7' })).total).toBe(2);
    const byPatientKey = await search({ patient: `PK-${tag}` });
    expect(byPatientKey.total).toBe(2);
    expect(byPatientKey.entries[0]).toMatchObject({ patientId: patient.id, patientKey: `PK-${tag}`, studyId: study.id, studyInstanceUid: study.studyInstanceUid });
    expect((await search({ patient: patient.id })).total).toBe(2);
    expect((await search({ study: study.studyInstanceUid })).total).toBe(2);
    expect((await search({ study: study.id, outcome: 'success' })).total).toBe(1);
    expect((await search({ action: `${tag}.*`, from: '2000-01-01', to: '2000-01-02' })).total).toBe(0);
    const page2 = await search({ action: `${tag}.*`, pageSize: '2', page: '2' });
    expect(page2).toMatchObject({ page: 2, pageSize: 2, total: 3 });
    expect(page2.entries).toHaveLength(1);
    expect(page2.entries[0]!.action).toBe(`${tag}.read`);

    // Every search is itself in the trail, with its filters.
    const [own] = await (await getDb())
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.action, 'audit.search'), eq(auditLog.userId, admin.userId!)))
      .orderBy(auditLog.id)
      .limit(1);
    expect(own).toMatchObject({ outcome: 'success', eventId: '110101', eventActionCode: 'R', details: { filters: { action: `${tag}.*` }, total: 3 } });
  });

  it('refuses anyone but an administrator, and records the refusal', async () => {
    const clinician = await createTestUser('clinician');
    await expect(searchTrail(actorOfUser(clinician), parseAuditTrailQuery({}))).rejects.toMatchObject({ status: 403 });
    await expect(exportTrail(actorOfUser(clinician), { ...parseAuditTrailQuery({}), format: 'csv' })).rejects.toMatchObject({ status: 403 });
    const rows = await (await getDb()).select().from(auditLog).where(eq(auditLog.userId, clinician.id));
    expect(rows.map((r) => [r.action, r.outcome, r.eventOutcomeIndicator])).toEqual([
      ['audit.search', 'denied', 8],
      ['audit.export', 'denied', 8],
    ]);
  });

  it('exports every matching row across batches, newest first, as JSON and as CSV', async () => {
    const admin = actorOfUser(await createTestUser('admin'));
    const tag = `x${randomUUID().slice(0, 8)}`;
    const count = 2345;
    await (await getDb()).insert(auditLog).values(
      Array.from({ length: count }, (_, i) => ({ action: `${tag}.read`, outcome: 'success' as const, resourceId: String(i), details: {} })),
    );
    const query = parseAuditTrailQuery({ action: `${tag}.*` });
    const json = JSON.parse(await readAll((await exportTrail(admin, { ...query, format: 'json' })).stream)) as { resourceId: string; id: number; eventId: string }[];
    expect(json).toHaveLength(count);
    expect(json[0]!.resourceId).toBe(String(count - 1));
    expect(json.at(-1)!.resourceId).toBe('0');
    expect(new Set(json.map((e) => e.id)).size).toBe(count);
    // Rows inserted directly (as legacy rows were) get their PS3.15 codes derived from the action.
    expect(json[0]!.eventId).toBe('110100');

    const csv = await exportTrail(admin, { ...query, format: 'csv' });
    expect(csv.contentType).toBe('text/csv; charset=utf-8');
    expect(csv.filename).toMatch(/^audit-trail-.*\.csv$/);
    const lines = (await readAll(csv.stream)).split('\r\n').filter(Boolean);
    expect(lines).toHaveLength(count + 1);
    expect(lines[0]!.split(',')).toContain('studyInstanceUid');

    const none = JSON.parse(await readAll((await exportTrail(admin, { ...parseAuditTrailQuery({ action: `${tag}-none` }), format: 'json' })).stream));
    expect(none).toEqual([]);
  });

  it('quotes CSV cells and defuses spreadsheet formulas', () => {
    expect(csvCell('plain')).toBe('plain');
    expect(csvCell('a,b')).toBe('"a,b"');
    expect(csvCell('say "hi"')).toBe('"say ""hi"""');
    expect(csvCell('=HYPERLINK("http://x")')).toBe(`"'=HYPERLINK(""http://x"")"`);
    expect(csvCell('+1')).toBe("'+1");
    expect(csvCell('@SUM(A1)')).toBe("'@SUM(A1)");
    expect(csvCell(null)).toBe('');
    expect(csvCell(4)).toBe('4');
    expect(csvCell({ reason: 'x' })).toBe('"{""reason"":""x""}"');
  });

  it('rejects malformed filters', () => {
    for (const bad of [{ outcome: 'maybe' }, { role: 'janitor' }, { action: 'DROP TABLE' }, { address: 'not-an-ip' }, { from: '2030-01-01', to: '2020-01-01' }, { format: 'xml' }, { pageSize: '1000' }]) {
      expect(() => parseAuditTrailQuery(bad), JSON.stringify(bad)).toThrow();
    }
  });
});
