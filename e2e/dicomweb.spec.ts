import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { expect, test } from '@playwright/test';
import { api } from 'dicomweb-client';
import { signInAsAdmin } from './support/pages';

// dicomweb-client (the client OHIF uses) against the production server, as an external system would.
(globalThis as { XMLHttpRequest?: unknown }).XMLHttpRequest = createRequire(import.meta.url)('xhr2');

type Method = 'storeInstances' | 'searchForStudies' | 'searchForInstances' | 'retrieveStudyMetadata' | 'retrieveInstance' | 'retrieveInstanceFrames' | 'retrieveInstanceRendered';
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Client = Record<Method, (options: Record<string, unknown>) => Promise<any>>;
const DICOMwebClient = api.DICOMwebClient as unknown as new (options: Record<string, unknown>) => Client;

const fixture = (name: string) => readFileSync(path.join(import.meta.dirname, '..', 'lib', 'dicom', '__fixtures__', name));
const arrayBuffer = (b: Buffer) => b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength);

test('dicomweb-client stores, finds and retrieves through /dicomweb with an API token', async ({ page, baseURL }) => {
  await signInAsAdmin(page);
  const created = await page.request.post('/api/tokens', { data: { name: `OHIF ${Date.now()}`, role: 'radiologist', scopes: ['dicomweb:read', 'dicomweb:write'] } });
  expect(created.status()).toBe(201);
  const { secret } = await created.json();
  const client = new DICOMwebClient({ url: `${baseURL}/dicomweb`, headers: { Authorization: `Bearer ${secret}` }, verbose: false });

  const ct = fixture('ct_small_explicit_le.dcm');
  const stored = await client.storeInstances({ datasets: [arrayBuffer(ct), arrayBuffer(fixture('mr_small_jpegls_lossless.dcm'))] });
  const response = typeof stored === 'string' ? JSON.parse(stored) : stored;
  expect(response['00081199'].Value).toHaveLength(2);
  const uid = (item: Record<string, { Value?: string[] }>, tag: string) => item[tag]!.Value![0]!;
  // Referenced in the order the parts were sent: the CT first.
  const ctRef = response['00081199'].Value[0];
  const [, studyUid, seriesUid, sopUid] = /studies\/([\d.]+)\/series\/([\d.]+)\/instances\/([\d.]+)$/.exec(uid(ctRef, '00081190'))!;

  const studies = await client.searchForStudies({ queryParams: { StudyInstanceUID: studyUid } });
  expect(studies).toHaveLength(1);
  const instances = await client.searchForInstances({ studyInstanceUID: studyUid, seriesInstanceUID: seriesUid });
  expect(instances.map((i: Record<string, { Value?: string[] }>) => uid(i, '00080018'))).toContain(sopUid);

  const metadata = await client.retrieveStudyMetadata({ studyInstanceUID: studyUid });
  expect(metadata[0]['7FE00010'].BulkDataURI).toContain(`${baseURL}/dicomweb/studies/${studyUid}/`);

  const ids = { studyInstanceUID: studyUid, seriesInstanceUID: seriesUid, sopInstanceUID: sopUid };
  const instance = Buffer.from(await client.retrieveInstance(ids));
  // The file comes back as stored (Explicit VR Little Endian is the default): the same bytes, the preamble blanked by storage.
  const expected = Buffer.from(ct);
  expected.fill(0, 0, 128);
  expect(instance.equals(expected)).toBe(true);
  const [frame] = await client.retrieveInstanceFrames({ ...ids, frameNumbers: [1] });
  expect(new Uint8Array(frame as ArrayBuffer).byteLength).toBe(128 * 128 * 2);
  const rendered = (await client.retrieveInstanceRendered({ ...ids, mediaTypes: [{ mediaType: 'image/png' }] })) as ArrayBuffer[];
  expect(Buffer.from(rendered[0]!).subarray(1, 4).toString()).toBe('PNG');

  // Without a token the service refuses, in the API's error shape (not a redirect: /dicomweb is outside the proxy).
  const anonymous = await page.context().browser()!.newContext();
  const refused = await anonymous.request.get(`${baseURL}/dicomweb/studies`);
  expect(refused.status()).toBe(401);
  expect(await refused.json()).toMatchObject({ error: { code: 'unauthorized' } });
  await anonymous.close();
});
