'use client';

import { useState } from 'react';
import type { ViewerSeries } from './types';

function SeriesThumbnail({ series }: { series: ViewerSeries }) {
  const [failed, setFailed] = useState(false);
  if (failed) return <span className="viewer-thumb-empty">{series.modality ?? '—'}</span>;
  // The server renders thumbnails (the image API), already sized: next/image would add nothing.
  // eslint-disable-next-line @next/next/no-img-element
  return <img src={series.thumbnailUrl} alt="" width={96} height={96} loading="lazy" onError={() => setFailed(true)} />;
}

export function SeriesPanel({ series, selectedId, onSelect }: { series: ViewerSeries[]; selectedId: string | null; onSelect: (id: string) => void }) {
  return (
    <nav className="viewer-series" aria-label="Series">
      <h2>Series</h2>
      <ul>
        {series.map((s) => {
          const frames = s.instances.reduce((n, i) => n + Math.max(1, i.frames), 0);
          return (
            <li key={s.id}>
              <button
                type="button"
                className={s.id === selectedId ? 'active' : undefined}
                aria-pressed={s.id === selectedId}
                data-testid="series-thumbnail"
                data-series-id={s.id}
                onClick={() => onSelect(s.id)}
              >
                <SeriesThumbnail series={s} />
                <span className="viewer-series-label">
                  <strong>
                    {s.number ?? '—'} · {s.modality ?? '?'}
                  </strong>
                  <span>{s.description || (s.format === 'nifti' ? 'NIfTI volume' : 'No description')}</span>
                  <span className="muted">
                    {s.instances.length} file{s.instances.length === 1 ? '' : 's'}
                    {frames !== s.instances.length ? ` · ${frames} images` : ''}
                  </span>
                </span>
              </button>
            </li>
          );
        })}
      </ul>
    </nav>
  );
}
