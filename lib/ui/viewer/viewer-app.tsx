'use client';

import Link from 'next/link';
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { WINDOW_PRESETS, type PresetName } from '@/lib/imaging/presets';
import { CornerOverlay } from './corner-overlay';
import { CurrentViewContext, type CurrentView } from './current-view';
import { DwvSession, type LoadedImage, type Measurement, type PositionState, type ViewerTool, type WindowState } from './dwv-session';
import { HelpOverlay } from './help-overlay';
import { MeasurementList } from './measurement-list';
import { AiPanel, type AiAvailability } from './ai-panel';
import { SegmentationOverlay, SegmentationPanel, useSegmentations } from './segmentation-panel';
import { SeriesPanel } from './series-panel';
import { shortcutFor, type ShortcutAction } from './shortcuts';
import { TagBrowser } from './tag-browser';
import type { ViewerSeries, ViewerStudy } from './types';
import { buildViewQuery, CT_PRESETS, instanceFileUrl, loadUnits, matchPreset, parseViewQuery, presetWindow, roundWindowValue, type ViewQuery } from './view-state';

const DIV_ID = 'viewer-image';
const MIN_FPS = 1;
const MAX_FPS = 60;

type StudyState = { status: 'loading' } | { status: 'error'; message: string } | { status: 'ready'; data: ViewerStudy };
type LoadState = { phase: 'idle' | 'loading' | 'ready' } | { phase: 'error'; message: string };
/**
 * How the load of what is shown ended (`key`: series id and file group, see loadUnits); anything
 * without an outcome is still loading.
 */
type Outcome = { key: string; image: LoadedImage } | { key: string; error: string };
/** A window chosen by name; shown as chosen until the window is changed some other way. */
type WindowChoice = { key: string; name: string; window: WindowState };

const TOOLS: { tool: ViewerTool; label: string; key: string }[] = [
  { tool: 'WindowLevel', label: 'Window/level', key: 'W' },
  { tool: 'ZoomAndPan', label: 'Zoom/pan', key: 'Z' },
  { tool: 'Scroll', label: 'Scroll', key: 'S' },
  { tool: 'Ruler', label: 'Ruler', key: 'M' },
  { tool: 'Rectangle', label: 'Rectangle', key: 'B' },
  { tool: 'Ellipse', label: 'Ellipse', key: 'E' },
];

const sameWindow = (a: WindowState | null, b: WindowState | null) => !!a && !!b && Math.abs(a.center - b.center) < 1e-6 && Math.abs(a.width - b.width) < 1e-6;

async function fetchViewerStudy(studyId: string, signal: AbortSignal): Promise<ViewerStudy> {
  const res = await fetch(`/api/studies/${studyId}/viewer`, { signal, headers: { accept: 'application/json' } });
  const body = (await res.json().catch(() => null)) as (ViewerStudy & { error?: { message?: string } }) | null;
  if (!res.ok || !body) throw new Error(res.status === 404 ? 'This study does not exist or you cannot see it.' : (body?.error?.message ?? `The study could not be loaded (HTTP ${res.status}).`));
  return body;
}

const AI_OFF: AiAvailability = { configured: false, model: '', canAsk: false };

export function ViewerApp({ studyId, initialQuery, ai = AI_OFF }: { studyId: string; initialQuery: string; ai?: AiAvailability }) {
  const [aiOpen, setAiOpen] = useState(false);
  const [study, setStudy] = useState<StudyState>({ status: 'loading' });
  const [seriesId, setSeriesId] = useState<string | null>(null);
  const [session, setSession] = useState<DwvSession | null>(null);
  const [outcome, setOutcome] = useState<Outcome | null>(null);
  const [progress, setProgress] = useState<{ key: string; percent: number } | null>(null);
  const [unitChoice, setUnitChoice] = useState<{ seriesId: string; index: number } | null>(null);
  const [timeChoice, setTimeChoice] = useState<{ key: string; time: number } | null>(null);
  const [windowState, setWindowLevel] = useState<WindowState | null>(null);
  const [positionState, setPosition] = useState<PositionState | null>(null);
  const [inverted, setInverted] = useState(false);
  const [measurementList, setMeasurements] = useState<Measurement[]>([]);
  const [playing, setPlaying] = useState(false);
  const [fps, setFps] = useState(10);
  const [tool, setTool] = useState<ViewerTool>('WindowLevel');
  const [choice, setChoice] = useState<WindowChoice | null>(null);
  const [overlay, setOverlay] = useState(true);
  const [tagsOpen, setTagsOpen] = useState(true);
  const [helpOpen, setHelpOpen] = useState(false);
  const [copied, setCopied] = useState(false);
  const hostRef = useRef<HTMLDivElement>(null);
  const shellRef = useRef<HTMLDivElement>(null);
  const [initialView] = useState(() => parseViewQuery(new URLSearchParams(initialQuery)));
  /** The URL's view, applied once when its series has loaded; a later series starts fresh. */
  const pendingQuery = useRef<ViewQuery | null>(initialView);
  /** What dwv is loading or showing (a load key): its events are about this. */
  const loadingKey = useRef('');

  useEffect(() => {
    const controller = new AbortController();
    fetchViewerStudy(studyId, controller.signal)
      .then((data) => {
        setStudy({ status: 'ready', data });
        const wanted = pendingQuery.current?.series;
        const initial = data.series.find((s) => s.id === wanted) ?? data.series.find((s) => s.instances.length > 0) ?? null;
        if (pendingQuery.current && wanted && initial?.id !== wanted) pendingQuery.current = { ...pendingQuery.current, slice: undefined };
        setSeriesId(initial?.id ?? null);
      })
      .catch((error: Error) => {
        if (!controller.signal.aborted) setStudy({ status: 'error', message: error.message });
      });
    return () => controller.abort();
  }, [studyId]);

  useEffect(() => {
    let created: DwvSession | null = null;
    let cancelled = false;
    void DwvSession.create(DIV_ID, {
      progress: (percent) => setProgress({ key: loadingKey.current, percent }),
      loaded: (image) => {
        setOutcome({ key: loadingKey.current, image });
        const pending = pendingQuery.current;
        pendingQuery.current = null;
        if (!created) return;
        // dwv opens on whichever file arrived first; a series always opens on its first image.
        created.setIndex(pending?.slice !== undefined ? pending.slice - 1 : 0);
        if (pending?.window) created.setWindow(pending.window);
        if (pending?.invert) created.setInverted(true);
      },
      failed: (error) => setOutcome({ key: loadingKey.current, error }),
      windowChanged: (value) => setWindowLevel(value),
      positionChanged: (value) => setPosition(value),
      invertChanged: (value) => setInverted(value),
      measurementsChanged: (list) => setMeasurements(list),
      playingChanged: (value) => setPlaying(value),
    }).then((s) => {
      if (cancelled) {
        s.dispose();
        return;
      }
      created = s;
      setSession(s);
    });
    return () => {
      cancelled = true;
      created?.dispose();
    };
  }, []);

  const data = study.status === 'ready' ? study.data : null;
  const series = useMemo<ViewerSeries | null>(() => data?.series.find((s) => s.id === seriesId) ?? null, [data, seriesId]);

  const units = useMemo(() => (series ? loadUnits(series.instances) : []), [series]);
  const segmentation = useSegmentations(studyId, seriesId);
  const requestedUnit =
    unitChoice && unitChoice.seriesId === seriesId ? unitChoice.index : series && initialView.series === series.id && initialView.instance ? initialView.instance - 1 : 0;
  const unitIndex = Math.max(0, Math.min(units.length - 1, requestedUnit));
  const unit = units[unitIndex] ?? null;
  const unitKey = series ? `${series.id}#${unitIndex}` : '';
  // A 4D volume shows one time point (3D volume) at a time; 1-based like the URL.
  const timeCount = unit && unit.length === 1 ? unit[0]!.timePoints : 1;
  const requestedTime = timeChoice && timeChoice.key === unitKey ? timeChoice.time : series && initialView.series === series.id && initialView.time ? initialView.time : 1;
  const time = Math.max(1, Math.min(timeCount, requestedTime));
  const loadKey = timeCount > 1 ? `${unitKey}@${time}` : unitKey;

  const load: LoadState = !series
    ? { phase: 'idle' }
    : !unit
      ? { phase: 'error', message: 'This series has no images.' }
      : outcome?.key !== loadKey
        ? { phase: 'loading' }
        : 'image' in outcome
          ? { phase: 'ready' }
          : { phase: 'error', message: outcome.error };
  const image = outcome?.key === loadKey && 'image' in outcome ? outcome.image : null;
  const percent = progress?.key === loadKey ? progress.percent : 0;
  const ready = load.phase === 'ready';
  // Readouts of the previous series stay in state while the next one loads: show none of them.
  const position = ready ? positionState : null;
  const windowLevel = ready ? windowState : null;
  const measurements = ready ? measurementList : [];

  useEffect(() => {
    if (!session || !unit) return;
    loadingKey.current = loadKey;
    session.load(unit.map((i) => instanceFileUrl(i, time)));
  }, [session, unit, loadKey, time]);

  // The URL follows the view (replaceState: no history entry per slice), so it can be shared.
  useEffect(() => {
    if (load.phase !== 'ready' || !seriesId || pendingQuery.current) return;
    const timer = window.setTimeout(() => {
      const query = buildViewQuery({
        series: seriesId,
        instance: units.length > 1 ? unitIndex + 1 : undefined,
        time: timeCount > 1 ? time : undefined,
        slice: position ? position.index + 1 : undefined,
        window: image?.canWindowLevel && windowLevel ? windowLevel : undefined,
        invert: inverted,
      });
      const next = `${window.location.pathname}?${query}`;
      if (next !== `${window.location.pathname}${window.location.search}`) window.history.replaceState(window.history.state, '', next);
    }, 250);
    return () => window.clearTimeout(timer);
  }, [load.phase, seriesId, units.length, unitIndex, timeCount, time, position, windowLevel, inverted, image]);

  // The viewer fills the window below the app's top bar, whose height depends on its contents.
  useEffect(() => {
    const shell = shellRef.current;
    if (!shell) return;
    const fit = () => {
      shell.style.height = `${Math.max(480, window.innerHeight - (shell.getBoundingClientRect().top + window.scrollY))}px`;
    };
    fit();
    window.addEventListener('resize', fit);
    return () => window.removeEventListener('resize', fit);
  }, [study.status]);

  useEffect(() => {
    const host = hostRef.current;
    if (!host || !session) return;
    const observer = new ResizeObserver(() => session.resize());
    observer.observe(host);
    return () => observer.disconnect();
  }, [session, study.status]);

  // Pinch and ctrl+wheel zoom whatever the tool; the plain wheel is left to dwv (slices, or zoom
  // with the zoom tool).
  useEffect(() => {
    const host = hostRef.current;
    if (!host || !session) return;
    let pinching = false;
    const onWheel = (event: WheelEvent) => {
      if (!(event.ctrlKey || event.metaKey) || session.currentTool() === 'ZoomAndPan') return;
      event.preventDefault();
      event.stopPropagation();
      session.forwardToZoom(event);
    };
    const onTouch = (event: TouchEvent) => {
      if (session.currentTool() === 'ZoomAndPan') return;
      if (event.type === 'touchend') {
        if (pinching && event.touches.length < 2) {
          pinching = false;
          event.stopPropagation();
        }
        return;
      }
      if (event.touches.length < 2) return;
      pinching = true;
      event.preventDefault();
      event.stopPropagation();
      session.forwardToZoom(event);
    };
    const options = { capture: true, passive: false } as const;
    host.addEventListener('wheel', onWheel, options);
    host.addEventListener('touchstart', onTouch, options);
    host.addEventListener('touchmove', onTouch, options);
    host.addEventListener('touchend', onTouch, options);
    return () => {
      host.removeEventListener('wheel', onWheel, options);
      host.removeEventListener('touchstart', onTouch, options);
      host.removeEventListener('touchmove', onTouch, options);
      host.removeEventListener('touchend', onTouch, options);
    };
  }, [session, study.status]);

  const selectTool = useCallback(
    (next: ViewerTool) => {
      setTool(next);
      session?.setTool(next);
    },
    [session],
  );

  const applyPreset = useCallback(
    (name: string) => {
      if (!session || !image?.canWindowLevel) return;
      if (name in WINDOW_PRESETS) {
        session.setWindow(presetWindow(name as PresetName));
      } else if (name === 'auto') {
        session.setFilePreset('minmax');
      } else if (name === 'default') {
        session.reset();
        // Reset also restores zoom and colour map; only the window was asked for.
        if (inverted) session.setInverted(true);
      } else if (name.startsWith('file:')) {
        session.setFilePreset(name.slice('file:'.length));
      } else {
        return;
      }
      const now = session.getWindow();
      if (now) setChoice({ key: loadKey, name, window: now });
    },
    [session, image, inverted, loadKey],
  );

  /** Another time point of the same volume: the slice, window and invert stay as they are. */
  const changeTime = useCallback(
    (next: number) => {
      const target = Math.max(1, Math.min(timeCount, Math.round(next) || 1));
      if (timeCount < 2 || target === time) return;
      if (ready) pendingQuery.current = { slice: position ? position.index + 1 : undefined, window: image?.canWindowLevel && windowLevel ? windowLevel : undefined, invert: inverted };
      setTimeChoice({ key: unitKey, time: target });
    },
    [timeCount, time, ready, position, image, windowLevel, inverted, unitKey],
  );

  const play = useCallback(() => {
    if (!session) return;
    if (session.isPlaying()) session.stop();
    else session.play(fps);
  }, [session, fps]);

  const changeFps = useCallback(
    (value: number) => {
      const next = Math.max(MIN_FPS, Math.min(MAX_FPS, Math.round(value) || MIN_FPS));
      setFps(next);
      if (session?.isPlaying()) session.play(next);
    },
    [session],
  );

  const perform = useCallback(
    (action: ShortcutAction) => {
      switch (action.kind) {
        case 'tool':
          return selectTool(action.tool);
        case 'preset':
          return applyPreset(action.preset);
        case 'auto-window':
          return applyPreset('auto');
        case 'default-window':
          return applyPreset('default');
        case 'invert':
          return session?.setInverted(!inverted);
        case 'reset':
          setChoice(null);
          return session?.reset();
        case 'step':
          return session?.step(action.delta);
        case 'first':
          return session?.setIndex(0);
        case 'last':
          return session?.setIndex(Number.MAX_SAFE_INTEGER);
        case 'play':
          return play();
        case 'fps':
          return changeFps(fps + action.delta);
        case 'time':
          return changeTime(time + action.delta);
        case 'zoom':
          return session?.zoom(action.step);
        case 'overlay':
          return setOverlay((v) => !v);
        case 'tags':
          return setTagsOpen((v) => !v);
        case 'help':
          return setHelpOpen((v) => !v);
        case 'close':
          setHelpOpen(false);
          return session?.stop();
      }
    },
    [session, inverted, selectTool, applyPreset, play, changeFps, fps, changeTime, time],
  );

  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      const target = event.target as HTMLElement | null;
      const typing = !!target && (target.isContentEditable || ['INPUT', 'SELECT', 'TEXTAREA'].includes(target.tagName));
      if (typing && event.key !== 'Escape') return;
      const shortcut = shortcutFor(event);
      if (!shortcut) return;
      // Buttons take Space and Enter themselves; the viewer's Space is cine only outside them.
      if (target?.tagName === 'BUTTON' && (event.key === ' ' || event.key === 'Enter')) return;
      event.preventDefault();
      perform(shortcut.action);
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [perform]);

  const copyLink = useCallback(async () => {
    try {
      await navigator.clipboard.writeText(window.location.href);
      setCopied(true);
      window.setTimeout(() => setCopied(false), 2000);
    } catch {
      setCopied(false);
    }
  }, []);

  /** The file of what is under view (in a stack of single-frame files, the current slice's). */
  const currentInstance = useMemo(() => {
    if (!unit || !session || load.phase !== 'ready') return null;
    if (unit.length === 1) return unit[0]!;
    const url = position?.imageUid ? session.sourceOf(position.imageUid) : undefined;
    return unit.find((i) => url !== undefined && (url === i.fileUrl || url.endsWith(i.fileUrl))) ?? unit[position?.index ?? 0] ?? unit[0] ?? null;
  }, [unit, session, load.phase, position]);
  const tagsUrl = currentInstance?.tagsUrl ?? null;

  const currentView = useMemo<CurrentView>(
    () => ({
      studyId,
      seriesId,
      instanceId: currentInstance?.id ?? null,
      sliceIndex: position?.index ?? null,
      sliceCount: position?.count ?? 0,
      frameIndex: position && currentInstance ? (unit && unit.length > 1 ? 0 : position.index) : null,
      timePoint: timeCount > 1 ? time - 1 : null,
      window: windowLevel && image?.canWindowLevel ? { center: windowLevel.center, width: windowLevel.width } : null,
      inverted,
      ready,
    }),
    [studyId, seriesId, currentInstance, position, unit, timeCount, time, windowLevel, image, inverted, ready],
  );

  if (study.status === 'loading') {
    return (
      <div className="viewer-shell viewer-message" data-testid="viewer" data-state="loading">
        <p className="muted">Loading study…</p>
      </div>
    );
  }
  if (study.status === 'error') {
    return (
      <div className="viewer-shell viewer-message" data-testid="viewer" data-state="error">
        <p role="alert" className="error">
          {study.message}
        </p>
        <Link href="/">Back to the worklist</Link>
      </div>
    );
  }

  const studyInfo = study.data.study;
  const isCt = (image?.modality || series?.modality) === 'CT';
  const canWl = !!image?.canWindowLevel;
  const chosen = choice && choice.key === loadKey && sameWindow(choice.window, windowLevel) ? choice.name : (matchPreset(windowLevel) ?? 'custom');
  const count = position?.count ?? 0;

  return (
    <CurrentViewContext.Provider value={currentView}>
    <div ref={shellRef} className="viewer-shell" data-testid="viewer" data-state={load.phase}>
      {/* A click on a tool button must not keep the focus, or Space and Enter would press it
          again instead of reaching the viewer's shortcuts. */}
      <div
        className="viewer-toolbar"
        role="toolbar"
        aria-label="Viewer tools"
        onMouseDown={(e) => {
          if ((e.target as HTMLElement).closest('button')) e.preventDefault();
        }}
      >
        <Link href={`/studies/${studyId}`} className="viewer-back" title="Study page">
          ←
        </Link>
        <div className="viewer-group" role="group" aria-label="Mouse tool">
          {TOOLS.map((t) => (
            <button
              key={t.tool}
              type="button"
              className={tool === t.tool ? 'tool active' : 'tool'}
              aria-pressed={tool === t.tool}
              title={`${t.label} (${t.key})`}
              onClick={() => selectTool(t.tool)}
              disabled={!ready || ((t.tool === 'WindowLevel') && !canWl) || (t.tool === 'Scroll' && count < 2)}
            >
              {t.label}
            </button>
          ))}
        </div>
        <label className="viewer-inline">
          <span>Window</span>
          <select aria-label="Window preset" value={chosen} disabled={!ready || !canWl} onChange={(e) => applyPreset(e.target.value)}>
            <option value="custom" disabled>
              Custom
            </option>
            <option value="default">File default (0)</option>
            {(image?.filePresets ?? []).slice(1).map((name) => (
              <option key={name} value={`file:${name}`}>
                File: {name}
              </option>
            ))}
            <option value="auto">{image?.modality === 'MR' ? 'MR auto' : 'Auto'} (A)</option>
            {isCt
              ? CT_PRESETS.map((name, i) => (
                  <option key={name} value={name}>
                    {WINDOW_PRESETS[name].label} {WINDOW_PRESETS[name].width}/{WINDOW_PRESETS[name].center} ({i + 1})
                  </option>
                ))
              : null}
          </select>
        </label>
        <button type="button" className={inverted ? 'tool active' : 'tool'} aria-pressed={inverted} disabled={!ready || !image?.monochrome} onClick={() => perform({ kind: 'invert' })} title="Invert (I)">
          Invert
        </button>
        <button type="button" className="tool" disabled={!ready} onClick={() => perform({ kind: 'reset' })} title="Reset (R)">
          Reset
        </button>
        <div className="viewer-group" role="group" aria-label="Cine">
          <button type="button" className={playing ? 'tool active' : 'tool'} aria-pressed={playing} disabled={!ready || count < 2} onClick={play} title="Play / pause (Space)">
            {playing ? 'Pause' : 'Play'}
          </button>
          <label className="viewer-inline">
            <input type="number" aria-label="Frame rate" min={MIN_FPS} max={MAX_FPS} value={fps} onChange={(e) => changeFps(Number(e.target.value))} />
            <span>fps</span>
          </label>
        </div>
        <span className="viewer-spacer" />
        <button type="button" className={overlay ? 'tool active' : 'tool'} aria-pressed={overlay} onClick={() => setOverlay((v) => !v)} title="Corner information (O)">
          Info
        </button>
        <button type="button" className={tagsOpen ? 'tool active' : 'tool'} aria-pressed={tagsOpen} onClick={() => setTagsOpen((v) => !v)} title="DICOM tags (T)">
          Tags
        </button>
        <button
          type="button"
          className={segmentation.open ? 'tool active' : 'tool'}
          aria-pressed={segmentation.open}
          onClick={() => segmentation.setOpen((v) => !v)}
          title="Segmentation: run an engine, show the overlay and volumes"
        >
          Segment
        </button>
        <button
          type="button"
          className={aiOpen ? 'tool active' : 'tool'}
          aria-pressed={aiOpen}
          data-testid="ai-toggle"
          data-configured={ai.configured}
          onClick={() => setAiOpen((v) => !v)}
          title={ai.configured ? 'AI analysis: ask Gemini about the image on screen' : 'AI analysis (not configured on this server)'}
        >
          AI analysis{ai.configured ? '' : ' (not configured)'}
        </button>
        <button type="button" className="tool" onClick={copyLink} title="Copy a link to this view">
          {copied ? 'Link copied' : 'Copy link'}
        </button>
        <button type="button" className="tool" onClick={() => setHelpOpen(true)} title="Keyboard shortcuts (?)">
          Help
        </button>
      </div>

      <div className={tagsOpen ? 'viewer-body with-tags' : 'viewer-body'}>
        <SeriesPanel series={study.data.series} selectedId={seriesId} onSelect={setSeriesId} />

        <section className="viewer-stage" aria-label="Image">
          <div ref={hostRef} id={DIV_ID} className={`viewer-canvas tool-${tool}`} data-testid="viewer-canvas" />
          <SegmentationOverlay state={segmentation} session={session} position={position} ready={ready} />
          {overlay && ready ? <CornerOverlay study={studyInfo} series={series} position={position} window={windowLevel} /> : null}
          {load.phase === 'loading' ? (
            <div className="viewer-progress" data-testid="load-progress">
              <span>Loading series… {percent}%</span>
              <progress aria-label="Loading series" max={100} value={percent} />
            </div>
          ) : null}
          {ready && image && image.warnings.length > 0 ? (
            <div className="viewer-warning" role="status" data-testid="load-warning">
              Some files of this series could not be read: {image.warnings[0]}
            </div>
          ) : null}
          {load.phase === 'error' ? (
            <div className="viewer-progress" role="alert" data-testid="load-error">
              <span className="error">This series cannot be shown: {load.message}</span>
            </div>
          ) : null}
          {helpOpen ? <HelpOverlay onClose={() => setHelpOpen(false)} /> : null}
        </section>

        <aside className="viewer-side">
          <section className="viewer-readouts" aria-label="Readouts">
            <dl className="facts">
              <dt>Slice</dt>
              <dd data-testid="slice-readout" data-index={position ? position.index + 1 : ''} data-count={count || ''}>
                {position ? `${position.index + 1} / ${count}` : '—'}
              </dd>
              <dt>Position</dt>
              <dd data-testid="position-readout">{position?.location != null ? `${position.location.toFixed(2)} mm` : '—'}</dd>
              <dt>Window</dt>
              <dd data-testid="wl-readout" data-center={windowLevel?.center ?? ''} data-width={windowLevel?.width ?? ''}>
                {windowLevel && canWl ? `W ${roundWindowValue(windowLevel.width)} / L ${roundWindowValue(windowLevel.center)}` : '—'}
              </dd>
              <dt>Image</dt>
              <dd>{image ? `${image.columns} × ${image.rows}${image.modality ? ` · ${image.modality}` : ''}` : '—'}</dd>
            </dl>
            {units.length > 1 ? (
              <div className="viewer-instance-nav" role="group" aria-label="File">
                <button type="button" className="tool" aria-label="Previous file" disabled={unitIndex === 0} onClick={() => series && setUnitChoice({ seriesId: series.id, index: unitIndex - 1 })}>
                  ‹
                </button>
                <span data-testid="instance-readout">
                  File {unitIndex + 1} / {units.length}
                </span>
                <button
                  type="button"
                  className="tool"
                  aria-label="Next file"
                  disabled={unitIndex >= units.length - 1}
                  onClick={() => series && setUnitChoice({ seriesId: series.id, index: unitIndex + 1 })}
                >
                  ›
                </button>
              </div>
            ) : null}
            {timeCount > 1 ? (
              <>
                <div className="viewer-instance-nav" role="group" aria-label="Time point">
                  <button type="button" className="tool" aria-label="Previous time point" title="Previous time point (,)" disabled={time <= 1} onClick={() => changeTime(time - 1)}>
                    ‹
                  </button>
                  <span data-testid="time-readout">
                    Time {time} / {timeCount}
                  </span>
                  <button type="button" className="tool" aria-label="Next time point" title="Next time point (.)" disabled={time >= timeCount} onClick={() => changeTime(time + 1)}>
                    ›
                  </button>
                </div>
                <input type="range" aria-label="Time point" data-testid="time-slider" min={1} max={timeCount} value={time} onChange={(e) => changeTime(Number(e.target.value))} />
              </>
            ) : null}
            <input
              type="range"
              aria-label="Slice"
              data-testid="slice-slider"
              min={1}
              max={Math.max(1, count)}
              value={position ? position.index + 1 : 1}
              disabled={!ready || count < 2}
              onChange={(e) => session?.setIndex(Number(e.target.value) - 1)}
            />
          </section>
          {aiOpen ? <AiPanel availability={ai} onClose={() => setAiOpen(false)} /> : null}
          {segmentation.open ? <SegmentationPanel state={segmentation} seriesModality={image?.modality || series?.modality || null} /> : null}
          <MeasurementList measurements={measurements} hasSpacing={image?.hasSpacing ?? true} onClear={() => session?.deleteMeasurements()} />
          {tagsOpen ? <TagBrowser tagsUrl={tagsUrl} label={series ? `Series ${series.number ?? '—'}, image ${position ? position.index + 1 : 1}` : ''} /> : null}
        </aside>
      </div>
    </div>
    </CurrentViewContext.Provider>
  );
}
