'use client';

import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import type { SegmentationView } from '@/lib/segmentation/service';
import type { DwvSession, PositionState } from './dwv-session';

/**
 * Segmentation in the viewer: a panel to run an engine on the series on screen and pick a result,
 * and an overlay that draws the result's label map for the slice on screen, coloured, with a
 * legend (name, colour, volume), a toggle and an opacity. The overlay is a canvas above dwv's,
 * drawn with the image layer's own transform (DwvSession.imagePlaneTransform), so it follows
 * zoom, pan and flips; the server renders each slice in the image's pixel layout.
 */

interface EngineInfo {
  name: 'builtin' | 'totalsegmentator';
  label: string;
  available: boolean;
  default: boolean;
  options: string[];
}

const ACTIVE = new Set(['queued', 'running']);
const POLL_MS = 1000;

async function readError(res: Response): Promise<string> {
  const body = (await res.json().catch(() => null)) as { error?: { message?: string } } | null;
  return body?.error?.message ?? `HTTP ${res.status}`;
}

async function fetchSegmentations(studyId: string, signal?: AbortSignal): Promise<SegmentationView[]> {
  const res = await fetch(`/api/studies/${studyId}/segmentations`, { signal, headers: { accept: 'application/json' } });
  if (!res.ok) throw new Error(await readError(res));
  return ((await res.json()) as { segmentations: SegmentationView[] }).segmentations;
}

export type SegmentationState = ReturnType<typeof useSegmentations>;

/** State shared by the panel and the overlay; call once in the viewer. */
export function useSegmentations(studyId: string, seriesId: string | null) {
  const [items, setItems] = useState<SegmentationView[]>([]);
  const [engines, setEngines] = useState<EngineInfo[]>([]);
  const [open, setOpen] = useState(false);
  const [chosen, setChosen] = useState<string | null>(null);
  const [visible, setVisible] = useState(true);
  const [opacity, setOpacity] = useState(0.5);
  const [hidden, setHidden] = useState<ReadonlySet<number>>(new Set());
  const [error, setError] = useState<string | null>(null);
  const [starting, setStarting] = useState(false);

  const refresh = useCallback(async () => setItems(await fetchSegmentations(studyId)), [studyId]);

  useEffect(() => {
    const controller = new AbortController();
    fetchSegmentations(studyId, controller.signal)
      .then(setItems)
      .catch((e: Error) => {
        if (!controller.signal.aborted) setError(e.message);
      });
    fetch('/api/segmentations/engines', { signal: controller.signal })
      .then(async (res) => (res.ok ? setEngines(((await res.json()) as { engines: EngineInfo[] }).engines) : undefined))
      .catch(() => {});
    return () => controller.abort();
  }, [studyId]);

  const busy = items.some((s) => ACTIVE.has(s.status));
  useEffect(() => {
    if (!busy) return;
    const timer = window.setInterval(() => void refresh().catch(() => {}), POLL_MS);
    return () => window.clearInterval(timer);
  }, [busy, refresh]);

  const forSeries = useMemo(() => items.filter((s) => s.seriesId === seriesId), [items, seriesId]);
  const selected = forSeries.find((s) => s.id === chosen) ?? forSeries.find((s) => s.status === 'succeeded') ?? forSeries[0] ?? null;

  const start = useCallback(
    async (engine: EngineInfo['name'], options: Record<string, unknown>) => {
      if (!seriesId) return;
      setStarting(true);
      setError(null);
      try {
        const res = await fetch(`/api/studies/${studyId}/segmentations`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: 'application/json' },
          body: JSON.stringify({ seriesId, engine, options }),
        });
        if (!res.ok) throw new Error(await readError(res));
        const { segmentation } = (await res.json()) as { segmentation: SegmentationView };
        setChosen(segmentation.id);
        setVisible(true);
        setHidden(new Set());
        await refresh();
      } catch (e) {
        setError((e as Error).message);
      } finally {
        setStarting(false);
      }
    },
    [studyId, seriesId, refresh],
  );

  const toggleStructure = useCallback((label: number) => {
    setHidden((current) => {
      const next = new Set(current);
      if (next.has(label)) next.delete(label);
      else next.add(label);
      return next;
    });
  }, []);

  return {
    open,
    setOpen,
    engines,
    forSeries,
    selected,
    choose: (id: string) => {
      setChosen(id);
      setHidden(new Set());
    },
    visible,
    setVisible,
    opacity,
    setOpacity,
    hidden,
    toggleStructure,
    error,
    starting,
    start,
  };
}

function formatVolume(ml: number): string {
  if (ml >= 1000) return `${(ml / 1000).toFixed(2)} L`;
  if (ml >= 10) return `${ml.toFixed(1)} mL`;
  return `${ml.toFixed(2)} mL`;
}

const rgb = (c: readonly number[]) => `rgb(${c[0]}, ${c[1]}, ${c[2]})`;

export function SegmentationPanel({ state, seriesModality }: { state: SegmentationState; seriesModality: string | null }) {
  const [engine, setEngine] = useState<EngineInfo['name']>('builtin');
  const [fast, setFast] = useState(true);
  const [multilabel, setMultilabel] = useState(false);
  const [rois, setRois] = useState('');
  const info = state.engines.find((e) => e.name === engine);
  const selected = state.selected;
  const totalSegmentator = engine === 'totalsegmentator';
  const unsupported = totalSegmentator && seriesModality !== 'CT' && seriesModality !== 'MR';

  const run = () => {
    const roiSubset = rois.split(/[\s,]+/).filter(Boolean);
    void state.start(engine, totalSegmentator ? { fast, ...(multilabel ? { multilabel } : {}), ...(roiSubset.length ? { roiSubset } : {}) } : {});
  };

  return (
    <section className="viewer-segmentation" aria-label="Segmentation" data-testid="segmentation-panel" style={{ display: 'grid', gap: 8 }}>
      <h2>Segmentation</h2>
      <label className="viewer-inline" style={{ display: 'flex', gap: 6, alignItems: 'center' }}>
        <span>Engine</span>
        <select aria-label="Segmentation engine" value={engine} onChange={(e) => setEngine(e.target.value as EngineInfo['name'])}>
          {(state.engines.length ? state.engines : [{ name: 'builtin', label: 'Built-in (thresholds)', available: true } as EngineInfo]).map((e) => (
            <option key={e.name} value={e.name} disabled={!e.available}>
              {e.label}
              {e.available ? '' : ' (not installed)'}
            </option>
          ))}
        </select>
      </label>
      {totalSegmentator ? (
        <div style={{ display: 'grid', gap: 4, fontSize: 13 }}>
          <label>
            <input type="checkbox" checked={fast} onChange={(e) => setFast(e.target.checked)} /> Fast (3 mm model)
          </label>
          <label>
            <input type="checkbox" checked={multilabel} onChange={(e) => setMultilabel(e.target.checked)} /> One multi-label file
          </label>
          <label style={{ display: 'grid', gap: 2 }}>
            <span className="muted">Only these structures (optional)</span>
            <input aria-label="Structures" placeholder="liver spleen kidney_left" value={rois} onChange={(e) => setRois(e.target.value)} />
          </label>
        </div>
      ) : (
        <p className="muted" style={{ margin: 0, fontSize: 12 }}>
          {seriesModality === 'CT' ? 'Body, lungs, bone and air by HU thresholds.' : 'Body outline (threshold and largest region).'}
        </p>
      )}
      <button type="button" className="tool" onClick={run} disabled={state.starting || (!info?.available && state.engines.length > 0) || unsupported}>
        {state.starting ? 'Starting…' : 'Run segmentation'}
      </button>
      {unsupported ? <p className="muted">TotalSegmentator segments CT and MR only.</p> : null}
      {state.error ? (
        <p role="alert" className="error" data-testid="segmentation-error">
          {state.error}
        </p>
      ) : null}

      {state.forSeries.length > 1 ? (
        <label style={{ display: 'grid', gap: 2 }}>
          <span className="muted">Result</span>
          <select aria-label="Segmentation result" value={selected?.id ?? ''} onChange={(e) => state.choose(e.target.value)}>
            {state.forSeries.map((s) => (
              <option key={s.id} value={s.id}>
                {new Date(s.createdAt).toLocaleString()} · {s.model ?? s.engine} · {s.status}
              </option>
            ))}
          </select>
        </label>
      ) : null}

      {selected ? (
        <div data-testid="segmentation-status" data-status={selected.status} style={{ fontSize: 13 }}>
          {ACTIVE.has(selected.status) ? (
            <>
              <span>{selected.status === 'queued' ? 'Queued…' : `Running… ${selected.progress}%`}</span>
              <progress aria-label="Segmentation progress" max={100} value={selected.progress} style={{ width: '100%' }} />
            </>
          ) : selected.status === 'succeeded' ? (
            <span className="muted">
              {selected.model ?? selected.engine}
              {selected.durationMs !== null ? `, ${(selected.durationMs / 1000).toFixed(1)} s` : ''}
            </span>
          ) : (
            <span role="alert" className="error">
              Segmentation {selected.status}: {selected.error}
            </span>
          )}
        </div>
      ) : (
        <p className="muted" style={{ margin: 0, fontSize: 12 }}>
          No segmentation of this series yet.
        </p>
      )}

      {selected?.status === 'succeeded' ? (
        <>
          <label style={{ display: 'flex', gap: 6, alignItems: 'center' }}>
            <input type="checkbox" aria-label="Show overlay" checked={state.visible} onChange={(e) => state.setVisible(e.target.checked)} />
            <span>Show overlay</span>
          </label>
          <label style={{ display: 'grid', gap: 2 }}>
            <span className="muted">Opacity {Math.round(state.opacity * 100)} %</span>
            <input
              type="range"
              aria-label="Overlay opacity"
              min={0}
              max={100}
              value={Math.round(state.opacity * 100)}
              disabled={!state.visible}
              onChange={(e) => state.setOpacity(Number(e.target.value) / 100)}
            />
          </label>
          <table data-testid="segmentation-legend" style={{ fontSize: 13 }}>
            <tbody>
              {selected.structures.map((s) => (
                <tr key={s.label} data-testid="segmentation-structure" data-name={s.name} data-volume-ml={s.volumeMl} title={s.description}>
                  <td style={{ width: 22 }}>
                    <input type="checkbox" aria-label={`Show ${s.name}`} checked={!state.hidden.has(s.label)} onChange={() => state.toggleStructure(s.label)} />
                  </td>
                  <td style={{ width: 16 }}>
                    <span aria-hidden style={{ display: 'inline-block', width: 12, height: 12, borderRadius: 2, background: rgb(s.color) }} />
                  </td>
                  <td>{s.name.replace(/_/g, ' ')}</td>
                  <td style={{ textAlign: 'right', whiteSpace: 'nowrap' }} data-testid="structure-volume">
                    {formatVolume(s.volumeMl)}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {selected.warnings.map((w) => (
            <p key={w} className="muted" style={{ margin: 0, fontSize: 12 }}>
              {w}
            </p>
          ))}
          {selected.labelMapUrl ? (
            <a href={selected.labelMapUrl} download style={{ fontSize: 12 }}>
              Download label map (NIfTI)
            </a>
          ) : null}
        </>
      ) : null}
    </section>
  );
}

/** Decoded overlay slices by URL, so scrolling back and forth does not fetch them again. */
const overlayCache = new Map<string, ImageBitmap>();
const CACHE_SIZE = 48;

export function SegmentationOverlay({ state, session, position, ready }: { state: SegmentationState; session: DwvSession | null; position: PositionState | null; ready: boolean }) {
  const canvasRef = useRef<HTMLCanvasElement>(null);
  const [, setLoaded] = useState(0);
  const selected = state.selected;
  const show = ready && state.visible && selected?.status === 'succeeded' && !!selected.overlayUrl && !!position;

  const url = useMemo(() => {
    if (!show || !selected?.overlayUrl || !position) return null;
    const params = new URLSearchParams({ slice: String(position.index) });
    if (position.imageUid) params.set('sop', position.imageUid.trim());
    const labels = selected.structures.filter((s) => !state.hidden.has(s.label)).map((s) => s.label);
    if (labels.length < selected.structures.length) params.set('labels', labels.length ? labels.join(',') : '0');
    return `${selected.overlayUrl}?${params}`;
  }, [show, selected, position, state.hidden]);

  const bitmap = url ? (overlayCache.get(url) ?? null) : null;

  useEffect(() => {
    if (!url || overlayCache.has(url)) return;
    const controller = new AbortController();
    fetch(url, { signal: controller.signal })
      .then(async (res) => {
        if (!res.ok) throw new Error(`HTTP ${res.status}`);
        const image = await createImageBitmap(await res.blob());
        overlayCache.set(url, image);
        if (overlayCache.size > CACHE_SIZE) overlayCache.delete(overlayCache.keys().next().value!);
        if (!controller.signal.aborted) setLoaded((n) => n + 1);
      })
      .catch(() => {
        // No overlay for this slice (e.g. another series' image): nothing is drawn.
      });
    return () => controller.abort();
  }, [url]);

  const draw = useCallback(() => {
    const canvas = canvasRef.current;
    if (!canvas) return;
    const transform = session?.imagePlaneTransform();
    const stage = canvas.parentElement;
    if (!transform || !stage) return;
    const { canvas: image } = transform;
    const box = image.getBoundingClientRect();
    const frame = stage.getBoundingClientRect();
    Object.assign(canvas.style, { left: `${box.left - frame.left}px`, top: `${box.top - frame.top}px`, width: `${box.width}px`, height: `${box.height}px` });
    if (canvas.width !== image.width) canvas.width = image.width;
    if (canvas.height !== image.height) canvas.height = image.height;
    const context = canvas.getContext('2d');
    if (!context) return;
    context.setTransform(1, 0, 0, 1, 0, 0);
    context.clearRect(0, 0, canvas.width, canvas.height);
    if (!bitmap) return;
    context.globalAlpha = state.opacity;
    context.imageSmoothingEnabled = false;
    // The same matrix dwv's view layer uses for the image (viewLayer.draw).
    context.setTransform(transform.scaleX, 0, 0, transform.scaleY, -transform.offsetX * transform.scaleX, -transform.offsetY * transform.scaleY);
    context.drawImage(bitmap, 0, 0);
  }, [session, bitmap, state.opacity]);

  useEffect(() => {
    draw();
    if (!session) return;
    const unsubscribe = session.onRender(draw);
    window.addEventListener('resize', draw);
    return () => {
      unsubscribe();
      window.removeEventListener('resize', draw);
    };
  }, [draw, session]);

  return (
    <canvas
      ref={canvasRef}
      data-testid="segmentation-overlay"
      data-url={bitmap ? (url ?? '') : ''}
      aria-hidden
      style={{ position: 'absolute', pointerEvents: 'none', display: url ? 'block' : 'none' }}
    />
  );
}
