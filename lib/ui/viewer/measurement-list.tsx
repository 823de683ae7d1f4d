'use client';

import type { Measurement } from './dwv-session';
import { formatMeasurement, formatStats } from './view-state';

const KIND_LABELS: Record<string, string> = { ruler: 'Distance', rectangle: 'Rectangle', ellipse: 'Ellipse', circle: 'Circle', roi: 'ROI' };

function kindLabel(kind: string): string {
  const base = kind.replace(/Factory$/i, '').toLowerCase();
  return KIND_LABELS[base] ?? kind;
}

export function MeasurementList({ measurements, hasSpacing, onClear }: { measurements: Measurement[]; hasSpacing: boolean; onClear: () => void }) {
  return (
    <section className="viewer-measurements" aria-label="Measurements">
      <h2>Measurements</h2>
      {measurements.length === 0 ? (
        <p className="muted">Pick the ruler (M) or an ROI (B, E) and drag on the image.</p>
      ) : (
        <>
          <ol data-testid="measurement-list">
            {measurements.map((m, i) => (
              <li key={m.id} data-testid="measurement" data-value={m.value ?? ''} data-unit={m.unit ?? ''}>
                <span className="muted">
                  {i + 1}. {kindLabel(m.kind)}
                </span>{' '}
                <strong data-testid="measurement-value">{m.value !== null ? formatMeasurement(m.value, m.unit) : m.text}</strong>
                {m.stats ? (
                  <span className="viewer-measure-text" data-testid="measurement-stats">
                    {formatStats(m.stats)}
                  </span>
                ) : null}
              </li>
            ))}
          </ol>
          <button type="button" className="secondary" onClick={onClear}>
            Clear measurements
          </button>
        </>
      )}
      {!hasSpacing ? <p className="muted">No pixel spacing in this image: lengths are in pixels.</p> : null}
    </section>
  );
}
