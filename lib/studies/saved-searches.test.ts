import { and, eq, inArray } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { DELETE as deleteRoute, GET as getRoute, PATCH as patchRoute } from '@/app/api/saved-searches/[id]/route';
import { GET as listRoute, POST as createRoute } from '@/app/api/saved-searches/route';
import { GET as listStudiesRoute } from '@/app/api/studies/route';
import { getDb } from '@/db';
import { auditLog, savedSearches, type User } from '@/db/schema';
import { actorOfUser, createTestToken, createTestUser } from '@/lib/testing/fixtures';
import { ingestStudyFixture } from '@/lib/testing/ingest';
import { callRoute } from '@/lib/testing/route';
import { randomTag } from '@/lib/testing/study-fixture';
import { filtersOf, parseStudySearch, toStudyQuery, worklistHref } from './query';
import { createSavedSearch, deleteSavedSearch, getSavedSearch, listMySavedSearches, resolveStudySearch, updateSavedSearch } from './saved-searches';
import { updateStudyWorkflow } from './workflow';
import { searchStudies } from './worklist';

const T = `S${randomTag(6)}`;
let radiologist: User, other: User;
let tokenA: { secret: string; id: string }, tokenB: { secret: string; id: string };
const studyIds: string[] = [];

beforeAll(async () => {
  radiologist = await createTestUser('radiologist');
  other = await createTestUser('clinician');
  tokenA = await createTestToken('clinician');
  tokenB = await createTestToken('clinician');
  for (const [fixture, name] of [
    ['ct_small_explicit_le', 'ONE'],
    ['mr_small_explicit_le', 'TWO'],
    ['ct_jpeg_lossless_p14', 'THREE'],
  ] as const) {
    studyIds.push((await ingestStudyFixture(fixture, { patientName: `${T}^${name}` })).studyId);
  }
  await updateStudyWorkflow(actorOfUser(radiologist), studyIds[0]!, { priority: 'stat', assigneeId: radiologist.id });
  await updateStudyWorkflow(actorOfUser(radiologist), studyIds[2]!, { priority: 'stat' });
});

describe('saved searches of a signed-in user', () => {
  it('saves the current filters under a name, lists them, applies and deletes them', async () => {
    const me = actorOfUser(radiologist);
    const current = parseStudySearch(new URLSearchParams(`q=${T}&priority=stat&assignee=me&modality=ct&sort=patientName&order=asc&page=3`));
    const saved = await createSavedSearch(me, { name: 'My stat CTs', filters: filtersOf(current) });
    // The page is not part of a saved search; the URL leaves defaults out.
    expect(saved.filters).toMatchObject({ q: T, priority: ['stat'], assignee: 'me', modality: 'CT', sort: 'patientName', order: 'asc', pageSize: 50 });
    expect(saved.filters).not.toHaveProperty('page');
    expect(saved.href).toBe(`/?q=${T}&priority=stat&assignee=me&modality=CT&sort=patientName&order=asc`);

    await createSavedSearch(me, { name: 'all stat', filters: { q: T, priority: ['stat'] } });
    expect((await listMySavedSearches(me)).map((s) => s.name)).toEqual(['all stat', 'My stat CTs']);

    // Applying: the saved filters are the search, so it finds what they find.
    const applied = await resolveStudySearch(me, new URLSearchParams(`savedSearch=${saved.id}`));
    const found = await searchStudies(me, toStudyQuery(applied, radiologist.id));
    expect(found.rows.map((r) => r.id)).toEqual([studyIds[0]]);
    const allStat = (await listMySavedSearches(me)).find((s) => s.name === 'all stat')!;
    const statRows = await searchStudies(me, toStudyQuery(await resolveStudySearch(me, new URLSearchParams(`savedSearch=${allStat.id}&sort=patientName&order=desc`)), radiologist.id));
    expect(statRows.rows.map((r) => r.patient.name)).toEqual([`${T}^THREE`, `${T}^ONE`]);
    // Its link opens the same search on the worklist.
    expect(parseStudySearch(new URL(allStat.href, 'http://x').searchParams)).toMatchObject({ q: T, priority: ['stat'], page: 1 });

    await deleteSavedSearch(me, saved.id);
    await expect(getSavedSearch(me, saved.id)).rejects.toMatchObject({ status: 404 });
    expect((await listMySavedSearches(me)).map((s) => s.name)).toEqual(['all stat']);

    const trail = await (await getDb()).select().from(auditLog).where(and(eq(auditLog.userId, radiologist.id), eq(auditLog.resourceType, 'saved_search')));
    expect(trail.map((r) => [r.action, r.outcome])).toEqual([
      ['saved_search.create', 'success'],
      ['saved_search.create', 'success'],
      ['saved_search.delete', 'success'],
      // Reading it after deletion is a failed access.
      ['saved_search.read', 'failure'],
    ]);
  });

  it("another user's saved search answers 404 to read, change, delete and apply, and stays as it was", async () => {
    const mine = await createSavedSearch(actorOfUser(radiologist), { name: 'Private', filters: { q: T } });
    const theirs = actorOfUser(other);
    await expect(getSavedSearch(theirs, mine.id)).rejects.toMatchObject({ status: 404, code: 'not_found' });
    await expect(updateSavedSearch(theirs, mine.id, { name: 'Stolen' })).rejects.toMatchObject({ status: 404 });
    await expect(deleteSavedSearch(theirs, mine.id)).rejects.toMatchObject({ status: 404 });
    await expect(resolveStudySearch(theirs, new URLSearchParams(`savedSearch=${mine.id}`))).rejects.toMatchObject({ status: 404 });
    expect(await listMySavedSearches(theirs)).toEqual([]);
    expect((await getSavedSearch(actorOfUser(radiologist), mine.id)).name).toBe('Private');
    const refused = await (await getDb()).select().from(auditLog).where(and(eq(auditLog.userId, other.id), eq(auditLog.resourceId, mine.id)));
    expect(refused.map((r) => [r.action, r.outcome])).toEqual([
      ['saved_search.read', 'failure'],
      ['saved_search.update', 'failure'],
      ['saved_search.delete', 'failure'],
      ['saved_search.read', 'failure'],
    ]);
  });

  it('refuses a duplicate name (ignoring case), bad filters and a page number', async () => {
    const me = actorOfUser(radiologist);
    await createSavedSearch(me, { name: 'Neuro', filters: {} });
    await expect(createSavedSearch(me, { name: ' neuro ', filters: {} })).rejects.toMatchObject({ status: 409, code: 'conflict' });
    // Another user may use the same name.
    await expect(createSavedSearch(actorOfUser(other), { name: 'Neuro', filters: {} })).resolves.toMatchObject({ name: 'Neuro' });
    for (const bad of [
      { name: '', filters: {} },
      { name: 'x'.repeat(101), filters: {} },
      { name: 'Bad status', filters: { status: ['bogus'] } },
      { name: 'Bad dates', filters: { dateFrom: '20240301', dateTo: '20240101' } },
      { name: 'With page', filters: { page: 2 } },
      { name: 'Unknown key', filters: { password: 'x' } },
      { filters: {} },
    ]) {
      await expect(createSavedSearch(me, bad), JSON.stringify(bad)).rejects.toMatchObject({ name: 'ZodError' });
    }
    const rename = await createSavedSearch(me, { name: 'Old name', filters: { status: ['received'] } });
    await expect(updateSavedSearch(me, rename.id, { name: 'NEURO' })).rejects.toMatchObject({ status: 409 });
    const renamed = await updateSavedSearch(me, rename.id, { name: 'New name', filters: { status: ['processed', 'analysed'] } });
    expect(renamed).toMatchObject({ name: 'New name', filters: { status: ['processed', 'analysed'] }, href: '/?status=processed&status=analysed' });
  });
});

describe('/api/saved-searches', () => {
  it('CRUD for an API client, scoped to its token; another token gets 404', async () => {
    const created = await callRoute(createRoute, { method: 'POST', url: '/api/saved-searches', token: tokenA.secret, body: { name: 'Stat queue', filters: { priority: 'stat', q: T } } });
    expect(created.status).toBe(201);
    const id = created.body.savedSearch.id as string;
    expect(created.headers.get('location')).toBe(`/api/saved-searches/${id}`);
    expect(created.body.savedSearch).toMatchObject({ name: 'Stat queue', filters: { priority: ['stat'], q: T } });

    const listed = await callRoute(listRoute, { url: '/api/saved-searches', token: tokenA.secret });
    expect(listed.body.savedSearches.map((s: { id: string }) => s.id)).toEqual([id]);
    expect((await callRoute(listRoute, { url: '/api/saved-searches', token: tokenB.secret })).body.savedSearches).toEqual([]);

    // Applied through GET /api/studies?savedSearch=…, with explicit parameters on top.
    const applied = await callRoute(listStudiesRoute, { url: `/api/studies?savedSearch=${id}&sort=patientName&order=asc`, token: tokenA.secret });
    expect(applied.body.studies.map((s: { id: string }) => s.id)).toEqual([studyIds[0], studyIds[2]]);
    const narrowed = await callRoute(listStudiesRoute, { url: `/api/studies?savedSearch=${id}&modality=MR`, token: tokenA.secret });
    expect(narrowed.body.total).toBe(0);

    for (const [handler, method] of [
      [getRoute, 'GET'],
      [patchRoute, 'PATCH'],
      [deleteRoute, 'DELETE'],
    ] as const) {
      const res = await callRoute(handler, { method, url: `/api/saved-searches/${id}`, params: { id }, token: tokenB.secret, body: method === 'PATCH' ? { name: 'mine now' } : undefined });
      expect([res.status, res.body.error.code], method).toEqual([404, 'not_found']);
    }
    const appliedByOther = await callRoute(listStudiesRoute, { url: `/api/studies?savedSearch=${id}`, token: tokenB.secret });
    expect(appliedByOther.status).toBe(404);

    const patched = await callRoute(patchRoute, { method: 'PATCH', url: `/api/saved-searches/${id}`, params: { id }, token: tokenA.secret, body: { name: 'Stat CT queue', filters: { priority: ['stat'], modality: 'CT', q: T } } });
    expect(patched.body.savedSearch).toMatchObject({ name: 'Stat CT queue', filters: { modality: 'CT' } });
    expect((await callRoute(getRoute, { url: `/api/saved-searches/${id}`, params: { id }, token: tokenA.secret })).body.savedSearch.name).toBe('Stat CT queue');

    const deleted = await callRoute(deleteRoute, { method: 'DELETE', url: `/api/saved-searches/${id}`, params: { id }, token: tokenA.secret });
    expect(deleted.status).toBe(204);
    expect((await callRoute(getRoute, { url: `/api/saved-searches/${id}`, params: { id }, token: tokenA.secret })).status).toBe(404);
    expect(await (await getDb()).select().from(savedSearches).where(inArray(savedSearches.tokenId, [tokenA.id, tokenB.id]))).toEqual([]);
  });

  it('answers 400 for bad bodies, 404 for malformed ids, 403 without the scope', async () => {
    const bad = await callRoute(createRoute, { method: 'POST', url: '/api/saved-searches', token: tokenA.secret, body: { name: 'x', filters: { sort: 'password' } } });
    expect([bad.status, bad.body.error.code]).toEqual([400, 'validation_error']);
    const notJson = await callRoute(createRoute, { method: 'POST', url: '/api/saved-searches', token: tokenA.secret, rawBody: '{' });
    expect(notJson.status).toBe(400);
    expect((await callRoute(getRoute, { url: '/api/saved-searches/nope', params: { id: 'nope' }, token: tokenA.secret })).status).toBe(404);
    const readOnly = await createTestToken('clinician', ['studies:read']);
    const refused = await callRoute(createRoute, { method: 'POST', url: '/api/saved-searches', token: readOnly.secret, body: { name: 'x', filters: {} } });
    expect(refused.status).toBe(403);
    expect((await callRoute(listRoute, { url: '/api/saved-searches', token: readOnly.secret })).status).toBe(200);
  });
});

it('worklistHref leaves defaults out and keeps lists repeatable', () => {
  expect(worklistHref({})).toBe('/');
  expect(worklistHref(parseStudySearch(new URLSearchParams('status=received,failed&dateFrom=20240101&page=2')))).toBe('/?status=received&status=failed&dateFrom=2024-01-01&page=2');
});
