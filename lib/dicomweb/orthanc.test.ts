/**
 * Interoperability with Orthanc's DICOMweb plugin as the client (Debian: apt-get install orthanc
 * orthanc-dicomweb): Orthanc pushes a study to the platform with STOW-RS, searches it with QIDO-RS
 * and pulls it back with WADO-RS. Skipped, saying so, where the packages are not installed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readDicomMetadata } from '@/lib/dicom';
import { appRouter } from '@/lib/testing/app-routes';
import { dicomCorpus } from '@/lib/testing/corpus';
import { replaceAscii, variantUid } from '@/lib/testing/dicom-series';
import { createTestToken } from '@/lib/testing/fixtures';
import { serveHandlers } from '@/lib/testing/http';

const ORTHANC = '/usr/sbin/Orthanc';
const PLUGIN = ['/usr/share/orthanc/plugins/libOrthancDicomWeb.so', '/usr/lib/orthanc/libOrthancDicomWeb.so.1.7'].find((p) => existsSync(p));
const available = existsSync(ORTHANC) && PLUGIN !== undefined;
if (!available) console.warn('[orthanc.test] Orthanc or its DICOMweb plugin is not installed (apt-get install orthanc orthanc-dicomweb): skipped');

// Within this worktree's port range for servers started by tests.
const HTTP_PORT = 3181;
const orthancUrl = `http://127.0.0.1:${HTTP_PORT}`;

let orthanc: ChildProcess | undefined;
let server: Awaited<ReturnType<typeof serveHandlers>> | undefined;

async function waitFor(url: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} did not come up`);
}

async function orthancJson(method: string, pathname: string, body?: unknown) {
  const payload: BodyInit | undefined = body === undefined ? undefined : body instanceof Uint8Array ? new Uint8Array(body) : JSON.stringify(body);
  const res = await fetch(`${orthancUrl}${pathname}`, { method, body: payload });
  const text = await res.text();
  if (!res.ok) throw new Error(`Orthanc ${method} ${pathname}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

function freshCopy(id: string) {
  let bytes: Buffer = readFileSync(dicomCorpus().find((e) => e.id === id)!.path);
  const meta = readDicomMetadata(new Uint8Array(bytes));
  const map = new Map<string, string>();
  for (const uid of [meta.studyInstanceUid!, meta.seriesInstanceUid!, meta.sopInstanceUid!].sort((a, b) => b.length - a.length)) {
    map.set(uid, variantUid(uid));
    bytes = replaceAscii(bytes, uid, map.get(uid)!);
  }
  return { bytes, study: map.get(meta.studyInstanceUid!)!, sop: map.get(meta.sopInstanceUid!)! };
}

beforeAll(async () => {
  if (!available) return;
  const token = await createTestToken('radiologist', ['dicomweb:read', 'dicomweb:write']);
  server = await serveHandlers({ '/dicomweb': appRouter(['app/dicomweb']) });
  const dir = mkdtempSync(path.join(os.tmpdir(), 'orthanc-'));
  const config = path.join(dir, 'orthanc.json');
  writeFileSync(
    config,
    JSON.stringify({
      Name: 'interop',
      HttpPort: HTTP_PORT,
      DicomServerEnabled: false,
      StorageDirectory: dir,
      IndexDirectory: dir,
      RemoteAccessAllowed: false,
      AuthenticationEnabled: false,
      Plugins: [PLUGIN],
      DicomWeb: { Enable: true, Root: '/dicom-web/', Servers: { platform: { Url: `${server.url}/dicomweb/`, HttpHeaders: { Authorization: `Bearer ${token.secret}` } } } },
    }),
  );
  orthanc = spawn(ORTHANC, [config, `--logdir=${dir}`], { stdio: 'ignore' });
  await waitFor(`${orthancUrl}/system`);
}, 60_000);

afterAll(async () => {
  orthanc?.kill();
  await server?.close();
});

describe.skipIf(!available)('Orthanc DICOMweb plugin as the client', () => {
  it('pushes with STOW-RS, finds with QIDO-RS and pulls back with WADO-RS the same bytes', async () => {
    const ct = freshCopy('ct_small_explicit_le');
    const mr = freshCopy('mr_small_jpegls_lossless');
    const ctId = (await orthancJson('POST', '/instances', new Uint8Array(ct.bytes))).ParentStudy as string;
    const mrStudy = (await orthancJson('POST', '/instances', new Uint8Array(mr.bytes))).ParentStudy as string;

    await orthancJson('POST', '/dicom-web/servers/platform/stow', { Resources: [ctId, mrStudy] });

    const found = await orthancJson('POST', '/dicom-web/servers/platform/get', { Uri: '/studies', Arguments: { StudyInstanceUID: ct.study } });
    expect(found).toHaveLength(1);
    expect(found[0]['0020000D'].Value[0]).toBe(ct.study);
    const instances = await orthancJson('POST', '/dicom-web/servers/platform/get', { Uri: `/studies/${mr.study}/instances` });
    expect(instances.map((i: Record<string, { Value: string[] }>) => i['00080018']!.Value[0])).toEqual([mr.sop]);

    // Forget them in Orthanc, then retrieve them from the platform.
    const originals = new Map<string, Buffer>();
    for (const study of [ctId, mrStudy]) {
      for (const instance of (await orthancJson('GET', `/studies/${study}/instances`)) as Array<{ ID: string; MainDicomTags: { SOPInstanceUID: string } }>) {
        originals.set(instance.MainDicomTags.SOPInstanceUID, Buffer.from(await (await fetch(`${orthancUrl}/instances/${instance.ID}/file`)).arrayBuffer()));
      }
      await orthancJson('DELETE', `/studies/${study}`);
    }
    expect(await orthancJson('GET', '/instances')).toEqual([]);
    await orthancJson('POST', '/dicom-web/servers/platform/retrieve', { Resources: [{ Study: ct.study }, { Study: mr.study }] });
    const back = (await orthancJson('GET', '/instances?expand')) as Array<{ ID: string; MainDicomTags: { SOPInstanceUID: string } }>;
    expect(back.map((i) => i.MainDicomTags.SOPInstanceUID).sort()).toEqual([ct.sop, mr.sop].sort());
    const ctBack = Buffer.from(await (await fetch(`${orthancUrl}/instances/${back.find((i) => i.MainDicomTags.SOPInstanceUID === ct.sop)!.ID}/file`)).arrayBuffer());
    // Orthanc keeps files as received: the platform sent the CT as stored (preamble blanked).
    expect(ctBack.subarray(132).equals(originals.get(ct.sop)!.subarray(132))).toBe(true);
    const mrBack = await orthancJson('GET', `/instances/${back.find((i) => i.MainDicomTags.SOPInstanceUID === mr.sop)!.ID}/metadata?expand`);
    expect(mrBack.TransferSyntax).toMatch(/^1\.2\.840\.10008\.1\.2\.(1|4\.80)$/);
  });
});
