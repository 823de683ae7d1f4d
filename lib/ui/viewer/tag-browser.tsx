'use client';

import { useEffect, useMemo, useState } from 'react';
import type { TagElement } from './types';
import { filterTags } from './view-state';

type TagsState = { url: string; elements: TagElement[] } | { url: string; error: string };

async function fetchTags(url: string, signal: AbortSignal): Promise<TagElement[]> {
  const res = await fetch(url, { signal, headers: { accept: 'application/json' } });
  const body = (await res.json().catch(() => null)) as { elements?: TagElement[]; error?: { message?: string } } | null;
  if (!res.ok) throw new Error(body?.error?.message ?? `HTTP ${res.status}`);
  return body?.elements ?? [];
}

/** The tags of the image under view; refetched when another instance comes under view. */
export function TagBrowser({ tagsUrl, label }: { tagsUrl: string | null; label: string }) {
  const [state, setState] = useState<TagsState | null>(null);
  const [search, setSearch] = useState('');

  useEffect(() => {
    if (!tagsUrl) return;
    const controller = new AbortController();
    fetchTags(tagsUrl, controller.signal)
      .then((elements) => setState({ url: tagsUrl, elements }))
      .catch((error: Error) => {
        if (!controller.signal.aborted) setState({ url: tagsUrl, error: error.message });
      });
    return () => controller.abort();
  }, [tagsUrl]);

  const current = state && state.url === tagsUrl ? state : null;
  const elements = current && 'elements' in current ? current.elements : null;
  const shown = useMemo(() => (elements ? filterTags(elements, search) : []), [elements, search]);

  return (
    <section className="viewer-tags" aria-label="DICOM tags" data-testid="tag-browser">
      <h2>DICOM tags</h2>
      <p className="muted">{label}</p>
      <input type="search" placeholder="Search tag, keyword or value" aria-label="Search tags" value={search} onChange={(e) => setSearch(e.target.value)} />
      {!tagsUrl ? (
        <p className="muted">No image loaded.</p>
      ) : current === null ? (
        <p className="muted">Loading tags…</p>
      ) : 'error' in current ? (
        <p className="error" role="alert">
          {current.error}
        </p>
      ) : current.elements.length === 0 ? (
        <p className="muted">This image has no DICOM tags (a NIfTI volume is converted for viewing).</p>
      ) : (
        <>
          <p className="muted" data-testid="tag-count">
            {shown.length} of {elements?.length ?? 0} elements
          </p>
          <div className="viewer-tags-scroll">
            <table>
              <colgroup>
                <col className="viewer-tag-col-id" />
                <col className="viewer-tag-col-keyword" />
                <col className="viewer-tag-col-vr" />
                <col />
              </colgroup>
              <tbody>
                {shown.map((e, i) => (
                  <tr key={`${i}:${e.tag}`} data-testid="tag-row">
                    <td className="viewer-tag-id" style={{ paddingLeft: 6 + e.depth * 10 }}>
                      {e.depth > 0 ? '› ' : ''}
                      {e.tag}
                    </td>
                    <td className="viewer-tag-keyword" title={e.keyword}>
                      {e.keyword || <span className="muted">private</span>}
                    </td>
                    <td className="muted">{e.vr}</td>
                    <td className="viewer-tag-value" title={e.value}>
                      {e.value}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
    </section>
  );
}
