'use client';

import { sha256 } from '@noble/hashes/sha2.js';
import Link from 'next/link';
import { useCallback, useEffect, useRef, useState, useSyncExternalStore, type DragEvent } from 'react';
import * as tus from 'tus-js-client';

type Phase = 'queued' | 'hashing' | 'uploading' | 'paused' | 'processing' | 'done' | 'failed';

interface Item {
  key: string;
  file: File;
  path: string;
  phase: Phase;
  hashed: number;
  sent: number;
  error?: string;
  result?: { studyId: string | null; instances: number; duplicates: number; skipped: number };
  /** The tus upload exists, so it can be paused and resumed. */
  resumable?: boolean;
}

const CHUNK_SIZE = 16 * 1024 * 1024;
const noSubscription = () => () => {};
const HASH_SLICE = 8 * 1024 * 1024;
const PARALLEL = 3;

/** Walks a dropped folder; browsers hand directories over as entries, not files. */
async function filesFromEntry(entry: FileSystemEntry, prefix = ''): Promise<{ file: File; path: string }[]> {
  if (entry.isFile) {
    const file = await new Promise<File>((resolve, reject) => (entry as FileSystemFileEntry).file(resolve, reject));
    return [{ file, path: prefix + file.name }];
  }
  const reader = (entry as FileSystemDirectoryEntry).createReader();
  const children: FileSystemEntry[] = [];
  // readEntries returns at most ~100 entries per call.
  for (;;) {
    const batch = await new Promise<FileSystemEntry[]>((resolve, reject) => reader.readEntries(resolve, reject));
    if (!batch.length) break;
    children.push(...batch);
  }
  const nested = await Promise.all(children.map((c) => filesFromEntry(c, `${prefix}${entry.name}/`)));
  return nested.flat();
}

async function hashFile(file: File, onProgress: (bytes: number) => void): Promise<string> {
  const hash = sha256.create();
  for (let offset = 0; offset < file.size; offset += HASH_SLICE) {
    hash.update(new Uint8Array(await file.slice(offset, offset + HASH_SLICE).arrayBuffer()));
    onProgress(Math.min(file.size, offset + HASH_SLICE));
  }
  return Array.from(hash.digest(), (b) => b.toString(16).padStart(2, '0')).join('');
}

function errorMessage(error: Error | tus.DetailedError): string {
  const response = (error as tus.DetailedError).originalResponse;
  if (response) {
    try {
      const body = JSON.parse(response.getBody()) as { error?: { message?: string } };
      if (body.error?.message) return body.error.message;
    } catch {
      // Not our JSON: fall through to the status line.
    }
    return `Upload refused (HTTP ${response.getStatus()})`;
  }
  return 'Network error: the upload will resume when you retry';
}

/** A refused file will never be resumed: drop tus-js-client's resume record for it. */
function forgetUpload(url: string | null) {
  if (!url) return;
  for (const key of Object.keys(window.localStorage)) {
    if (!key.startsWith('tus::')) continue;
    try {
      if ((JSON.parse(window.localStorage.getItem(key) ?? '{}') as { uploadUrl?: string }).uploadUrl === url) window.localStorage.removeItem(key);
    } catch {
      // Not a record we understand; leave it.
    }
  }
}

const isRetriable = (status: number) => status === 0 || status >= 500 || status === 409 || status === 423 || status === 460;

function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MB`;
  return `${(n / 1024 ** 3).toFixed(2)} GB`;
}

export function Uploader() {
  const [items, setItems] = useState<Item[]>([]);
  const [dragging, setDragging] = useState(false);
  // Interrupted uploads (page reload, crash) are remembered by tus-js-client in localStorage.
  const pendingResumes = useSyncExternalStore(
    noSubscription,
    () => Object.keys(window.localStorage).filter((k) => k.startsWith('tus::')).length,
    () => 0,
  );
  const [patient, setPatient] = useState({ patientName: '', patientId: '', modality: '' });
  const uploads = useRef(new Map<string, tus.Upload>());
  const started = useRef(new Set<string>());

  const update = useCallback((key: string, patch: Partial<Item>) => {
    setItems((list) => list.map((item) => (item.key === key ? { ...item, ...patch } : item)));
  }, []);

  const startUpload = useCallback(
    async (item: Item) => {
      try {
        update(item.key, { phase: 'hashing' });
        const digest = await hashFile(item.file, (hashed) => update(item.key, { hashed }));
        const metadata: Record<string, string> = {
          filename: item.file.name,
          filetype: item.file.type || 'application/octet-stream',
          relativePath: item.path,
          sha256: digest,
        };
        for (const [k, v] of Object.entries(patient)) if (v.trim()) metadata[k] = v.trim();
        const upload = new tus.Upload(item.file, {
          endpoint: '/api/upload',
          chunkSize: CHUNK_SIZE,
          retryDelays: [0, 1000, 3000, 5000, 10000, 20000, 30000],
          metadata,
          storeFingerprintForResuming: true,
          removeFingerprintOnSuccess: true,
          onShouldRetry(error) {
            // Network drops and server hiccups are worth retrying; a refused file is not.
            return isRetriable(error.originalResponse?.getStatus() ?? 0);
          },
          onProgress(sent) {
            // Only the count: a late progress event must not undo a pause.
            update(item.key, { sent });
          },
          onAfterResponse(_req, res) {
            if (res.getStatus() === 200 && res.getBody()) update(item.key, { phase: 'processing' });
          },
          async onSuccess(payload) {
            // A resumed upload that had already finished ends on a HEAD, without the ingest result.
            let text = payload.lastResponse.getBody();
            if (!text && upload.url) {
              const res = await fetch(`/api/uploads/${upload.url.split('/').pop()}`);
              text = res.ok ? await res.text() : '';
            }
            let result: Item['result'];
            try {
              const body = JSON.parse(text) as {
                studyId: string | null;
                result?: { instances?: number; duplicates?: number; skipped?: unknown[] };
              };
              result = {
                studyId: body.studyId,
                instances: body.result?.instances ?? 0,
                duplicates: body.result?.duplicates ?? 0,
                skipped: body.result?.skipped?.length ?? 0,
              };
            } catch {
              result = undefined;
            }
            update(item.key, { phase: 'done', sent: item.file.size, result });
          },
          onError(error) {
            const status = (error as tus.DetailedError).originalResponse?.getStatus() ?? 0;
            const retriable = isRetriable(status);
            if (!retriable) forgetUpload(upload.url);
            update(item.key, { phase: 'failed', error: errorMessage(error), resumable: retriable });
          },
        });
        uploads.current.set(item.key, upload);
        update(item.key, { resumable: true });
        const previous = await upload.findPreviousUploads();
        if (previous[0]) upload.resumeFromPreviousUpload(previous[0]);
        update(item.key, { phase: 'uploading' });
        upload.start();
      } catch (error) {
        update(item.key, { phase: 'failed', error: (error as Error).message });
      }
    },
    [patient, update],
  );

  // A small pool: a folder of 2,000 slices should not open 2,000 connections.
  useEffect(() => {
    const active = items.filter((i) => ['hashing', 'uploading', 'processing'].includes(i.phase)).length;
    const next = items.filter((i) => i.phase === 'queued' && !started.current.has(i.key)).slice(0, Math.max(0, PARALLEL - active));
    for (const item of next) {
      started.current.add(item.key);
      void startUpload(item);
    }
  }, [items, startUpload]);

  const add = useCallback((files: { file: File; path: string }[]) => {
    setItems((list) => [
      ...list,
      ...files.map(({ file, path }) => ({
        key: `${path}:${file.size}:${file.lastModified}:${Math.random().toString(36).slice(2)}`,
        file,
        path,
        phase: 'queued' as const,
        hashed: 0,
        sent: 0,
      })),
    ]);
  }, []);

  const onDrop = useCallback(
    async (event: DragEvent<HTMLDivElement>) => {
      event.preventDefault();
      setDragging(false);
      const entries = Array.from(event.dataTransfer.items)
        .map((i) => i.webkitGetAsEntry?.())
        .filter((e): e is FileSystemEntry => !!e);
      if (entries.length) add((await Promise.all(entries.map((e) => filesFromEntry(e)))).flat());
      else add(Array.from(event.dataTransfer.files).map((file) => ({ file, path: file.name })));
    },
    [add],
  );

  const pause = (key: string) => {
    void uploads.current.get(key)?.abort();
    update(key, { phase: 'paused' });
  };
  const resume = (key: string) => {
    const upload = uploads.current.get(key);
    if (!upload) return;
    update(key, { phase: 'uploading', error: undefined });
    upload.start();
  };

  const total = items.reduce((n, i) => n + i.file.size, 0);
  const sent = items.reduce((n, i) => n + (i.phase === 'done' ? i.file.size : i.sent), 0);
  const done = items.filter((i) => i.phase === 'done').length;
  const failed = items.filter((i) => i.phase === 'failed').length;

  return (
    <div className="uploader">
      <div
        className={`dropzone${dragging ? ' dragging' : ''}`}
        data-testid="dropzone"
        onDragOver={(e) => {
          e.preventDefault();
          setDragging(true);
        }}
        onDragLeave={() => setDragging(false)}
        onDrop={onDrop}
      >
        <p>Drop DICOM or NIfTI files, whole folders or .zip archives here</p>
        <div className="row">
          <label className="button-like">
            Choose files
            <input type="file" multiple hidden aria-label="Choose files" onChange={(e) => add(Array.from(e.target.files ?? []).map((file) => ({ file, path: file.name })))} />
          </label>
          <label className="button-like">
            Choose a folder
            <input
              type="file"
              multiple
              hidden
              aria-label="Choose a folder"
              {...({ webkitdirectory: '' } as Record<string, string>)}
              onChange={(e) => add(Array.from(e.target.files ?? []).map((file) => ({ file, path: file.webkitRelativePath || file.name })))}
            />
          </label>
        </div>
        <p className="muted">Up to 1 GB per file. Interrupted uploads resume where they stopped: drop the same files again.</p>
        {pendingResumes > 0 ? <p className="muted" data-testid="pending-resumes">{pendingResumes} unfinished upload(s) can be resumed.</p> : null}
      </div>

      <details className="card">
        <summary>Patient details for NIfTI volumes (DICOM files carry their own)</summary>
        <div className="row">
          <label>
            Patient name
            <input value={patient.patientName} onChange={(e) => setPatient({ ...patient, patientName: e.target.value })} />
          </label>
          <label>
            Patient ID
            <input value={patient.patientId} onChange={(e) => setPatient({ ...patient, patientId: e.target.value })} />
          </label>
          <label>
            Modality
            <input value={patient.modality} placeholder="MR" onChange={(e) => setPatient({ ...patient, modality: e.target.value.toUpperCase() })} />
          </label>
        </div>
      </details>

      {items.length > 0 ? (
        <div className="card">
          <div className="overall">
            <span data-testid="overall-status">
              {done} of {items.length} done{failed ? `, ${failed} failed` : ''} · {formatBytes(sent)} of {formatBytes(total)}
            </span>
            <progress aria-label="Overall progress" max={total || 1} value={sent} />
          </div>
          <table>
            <thead>
              <tr>
                <th>File</th>
                <th>Size</th>
                <th>Progress</th>
                <th>Status</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {items.map((item) => (
                <tr key={item.key} data-testid="upload-row" data-phase={item.phase}>
                  <td>{item.path}</td>
                  <td>{formatBytes(item.file.size)}</td>
                  <td>
                    <progress
                      aria-label={`Progress of ${item.path}`}
                      max={item.file.size || 1}
                      value={item.phase === 'hashing' ? item.hashed : item.phase === 'done' ? item.file.size : item.sent}
                    />
                  </td>
                  <td>
                    {item.phase === 'failed' ? (
                      <span role="alert" className="error">
                        {item.error}
                      </span>
                    ) : item.phase === 'done' && item.result ? (
                      <span className="ok">
                        Stored{item.result.instances ? ` ${item.result.instances} image(s)` : ''}
                        {item.result.duplicates ? ` (${item.result.duplicates} already stored)` : ''}
                        {item.result.skipped ? `, ${item.result.skipped} skipped` : ''}
                        {item.result.studyId ? (
                          <>
                            {' · '}
                            <Link href={`/studies/${item.result.studyId}`}>Open study</Link>
                          </>
                        ) : null}
                      </span>
                    ) : (
                      <span className="badge">{item.phase === 'hashing' ? 'checking' : item.phase}</span>
                    )}
                  </td>
                  <td>
                    {item.phase === 'uploading' ? (
                      <button type="button" className="secondary" onClick={() => pause(item.key)}>
                        Pause
                      </button>
                    ) : item.phase === 'paused' || (item.phase === 'failed' && item.resumable) ? (
                      <button type="button" className="secondary" onClick={() => resume(item.key)}>
                        Resume
                      </button>
                    ) : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </div>
  );
}
