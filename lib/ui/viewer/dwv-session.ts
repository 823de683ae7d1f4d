/**
 * The viewer's only contact with dwv: one dwv App bound to one div, loading one series at a time.
 * React components talk to this class and get plain data back through the listener, so that
 * dwv's classes never leak into component state.
 */
import type { App, Annotation, ViewController } from 'dwv';
import { widenToAllFrames } from './dwv-range';
import { installOrderedDecoders } from './ordered-decoders';

type Dwv = typeof import('dwv');

const STALL_MS = 4000;
/** A load with no event from dwv for this long is over, whatever the reason (a dwv exception, say). */
const IDLE_MS = 60_000;
/** dwv's own CT presets, which it adds to every CT: the viewer offers lib/imaging's instead. */
const DWV_CT_PRESETS = { mediastinum: true, lung: true, bone: true, brain: true, head: true };

export type ViewerTool = 'WindowLevel' | 'ZoomAndPan' | 'Scroll' | 'Ruler' | 'Rectangle' | 'Ellipse';
export const DRAW_SHAPES = ['Ruler', 'Rectangle', 'Ellipse'] as const;
type DrawShape = (typeof DRAW_SHAPES)[number];
const isDrawShape = (tool: ViewerTool): tool is DrawShape => (DRAW_SHAPES as readonly string[]).includes(tool);

export interface WindowState {
  center: number;
  width: number;
}

export interface PositionState {
  /** 0-based index along the navigated dimension (slices, or frames in time). */
  index: number;
  count: number;
  /** Which dimension is navigated: 2 for slices, 3 for frames of a time series. */
  dim: number;
  /** World position (mm) of the current plane along the scroll axis, when the data has one. */
  location: number | null;
  /** SOP Instance UID of the image under view. */
  imageUid: string | null;
}

export interface Measurement {
  id: string;
  kind: string;
  /** dwv's label, e.g. "42.3 mm" or "123.4 mm² …". */
  text: string;
  /** Main value: a length (mm), or a surface (mm² when the image has a spacing in mm). */
  value: number | null;
  unit: string | null;
  /** Pixel statistics inside an ROI, in the image's unit (HU for CT) when it has one. */
  stats: { mean: number; stdDev: number; min: number; max: number; unit: string | null } | null;
}

export interface LoadedImage {
  modality: string;
  monochrome: boolean;
  canWindowLevel: boolean;
  /** Spacing in mm is known (PixelSpacing present): measurements are in mm, else in pixels. */
  hasSpacing: boolean;
  rows: number;
  columns: number;
  /** Names of the windows stored in the file, in file order (dwv's "minmax" left out). */
  filePresets: string[];
  /** Files of the series dwv could not read (the image shows the others). */
  warnings: string[];
}

export interface SessionListener {
  progress(percent: number): void;
  loaded(image: LoadedImage): void;
  failed(message: string): void;
  windowChanged(window: WindowState): void;
  positionChanged(position: PositionState): void;
  invertChanged(inverted: boolean): void;
  measurementsChanged(list: Measurement[]): void;
  playingChanged(playing: boolean): void;
}

export class DwvSession {
  private readonly dwv: Dwv;
  private readonly app: App;
  private readonly divId: string;
  private readonly listener: SessionListener;
  private dataId: string | null = null;
  private tool: ViewerTool = 'WindowLevel';
  private cineTimer: number | undefined;
  private errors: string[] = [];
  private stallTimer: number | undefined;
  private idleTimer: number | undefined;
  /** A load was started and has neither produced an image nor failed yet. */
  private loading = false;
  private disposed = false;
  private readonly watchedGroups = new Set<string>();
  /** URL each image came from, by SOP Instance UID: ties the image under view to its instance. */
  private readonly sources = new Map<string, string>();
  /** Colour map dwv chose for the data (invPlain for MONOCHROME1): "invert" flips relative to it. */
  private baseColourMap = 'plain';

  private constructor(dwv: Dwv, divId: string, listener: SessionListener) {
    this.dwv = dwv;
    this.divId = divId;
    this.listener = listener;
    this.app = new dwv.App();
    const options = new dwv.AppOptions({ '*': [new dwv.ViewConfig(divId)] });
    options.tools = {
      WindowLevel: new dwv.ToolConfig(),
      ZoomAndPan: new dwv.ToolConfig(),
      Scroll: new dwv.ToolConfig(),
      Draw: new dwv.ToolConfig([...DRAW_SHAPES]),
    };
    this.app.init(options);
    // The viewer owns the keyboard (shortcuts listed in its help); dwv's window-wide handler would
    // act on the same keys.
    this.app.getToolboxController()?.enableShortcuts(false);
    this.bindEvents();
  }

  /** dwv touches `window` and `document` at import time, so it is only ever loaded in the browser. */
  static async create(divId: string, listener: SessionListener): Promise<DwvSession> {
    installOrderedDecoders(window);
    const dwv = await import('dwv');
    // dwv logs every decoded frame at info level.
    dwv.logger.level = dwv.logger.levels.WARN;
    return new DwvSession(dwv, divId, listener);
  }

  private bindEvents() {
    const app = this.app;
    app.addEventListener('loadstart', () => {
      this.errors = [];
      this.watchIdle();
      this.listener.progress(0);
    });
    app.addEventListener('loadprogress', (event: { loaded?: number; total?: number }) => {
      this.watchIdle();
      if (this.stallTimer !== undefined) this.watchStall();
      if (typeof event.loaded === 'number') this.listener.progress(Math.min(100, Math.round((event.loaded / (event.total || 100)) * 100)));
    });
    app.addEventListener('load', (event: { dataid: string }) => {
      if (this.disposed || !this.loading) return;
      this.dataId = event.dataid;
      this.onLoaded();
    });
    // One unreadable file does not stop dwv loading the others: errors are collected, and the load
    // only fails if no image came out of it.
    app.addEventListener('error', (event: { error?: unknown }) => {
      this.errors.push(errorMessage(event.error));
      // A decoder worker that fails leaves its file unfinished: dwv then never ends the load.
      if (this.loading) this.watchStall();
    });
    // The final loadend lists all the sources (one per file emits one too, with its own source).
    // Without a load before it, some file failed: show what did load, if anything.
    app.addEventListener('loadend', (event: { source?: unknown }) => {
      if (!Array.isArray(event.source) || this.disposed || !this.loading) return;
      this.settle();
    });
    app.addEventListener('loaditem', (event: { source?: unknown; data?: Record<string, { value?: unknown[] } | undefined> }) => {
      this.watchIdle();
      if (this.stallTimer !== undefined) this.watchStall();
      const uid = event.data?.['00080018']?.value?.[0];
      if (typeof uid === 'string' && typeof event.source === 'string') this.sources.set(uid.trim(), event.source);
    });
    app.addEventListener('wlchange', () => this.emitWindow());
    app.addEventListener('positionchange', () => this.emitPosition());
    app.addEventListener('colourmapchange', () => this.emitInvert());
    // Annotations live in a data object of their own, created by the Draw tool on the first shape.
    app.addEventListener('dataadd', (event: { dataid: string }) => this.watchAnnotations(event.dataid));
    app.addEventListener('annotationupdate', () => this.emitMeasurements());
  }

  /** After an error, a load that makes no progress for a while is over: show what came. */
  private watchStall() {
    window.clearTimeout(this.stallTimer);
    this.stallTimer = window.setTimeout(() => {
      this.stallTimer = undefined;
      // Not aborted: aborting would drop the images that did arrive.
      if (this.disposed || !this.loading) return;
      this.settle();
    }, STALL_MS);
  }

  private watchIdle() {
    window.clearTimeout(this.idleTimer);
    if (!this.loading) return;
    this.idleTimer = window.setTimeout(() => {
      this.idleTimer = undefined;
      if (this.disposed || !this.loading) return;
      this.errors.push(`loading stopped: nothing arrived for ${IDLE_MS / 1000} s`);
      this.settle();
    }, IDLE_MS);
  }

  /** Ends a load that did not complete: the images that did load are shown, with the errors. */
  private settle() {
    const partial = this.app.getDataIds().find((id) => this.app.getData(id)?.image !== undefined);
    if (partial !== undefined) {
      this.dataId = partial;
      this.onLoaded();
    } else {
      this.loading = false;
      this.listener.failed(this.errors[0] ?? 'the series could not be read');
    }
  }

  private controller(): ViewController | undefined {
    if (this.dataId === null) return undefined;
    return this.app.getViewLayersByDataId(this.dataId)[0]?.getViewController();
  }

  private onLoaded() {
    window.clearTimeout(this.stallTimer);
    window.clearTimeout(this.idleTimer);
    this.stallTimer = undefined;
    const vc = this.controller();
    const data = this.dataId === null ? undefined : this.app.getData(this.dataId);
    this.loading = false;
    if (!vc || !data?.image) {
      this.listener.failed(this.errors[0] ?? 'the series has no displayable image');
      return;
    }
    this.baseColourMap = vc.getColourMap();
    // Windows are clamped to the image's value range, which dwv takes from the first frame only:
    // widen it to all frames, then open on the file's window again (clamped to frame 1 so far).
    if (widenToAllFrames(data.image as unknown as Parameters<typeof widenToAllFrames>[0]) && vc.canWindowLevel()) vc.resetWindowLevel();
    const meta = data.image.getMeta() as Record<string, unknown>;
    const size = vc.getImageSize();
    this.app.fitToContainer();
    this.setTool(this.tool);
    this.listener.progress(100);
    this.listener.loaded({
      modality: typeof meta.Modality === 'string' ? meta.Modality : '',
      monochrome: vc.isMonochrome(),
      canWindowLevel: vc.canWindowLevel(),
      hasSpacing: vc.getLengthUnit() !== 'unit.pixel',
      rows: size.get(1),
      columns: size.get(0),
      filePresets: vc.getWindowLevelPresetsNames().filter((name) => name !== 'minmax' && !(name in DWV_CT_PRESETS)),
      warnings: [...new Set(this.errors)],
    });
    this.emitWindow();
    this.emitPosition();
    this.emitInvert();
    this.emitMeasurements();
  }

  /** Loads a whole series (one URL per instance); replaces what was shown. */
  load(urls: string[]) {
    this.stop();
    window.clearTimeout(this.stallTimer);
    window.clearTimeout(this.idleTimer);
    this.stallTimer = undefined;
    this.app.abortAllLoads();
    this.app.reset();
    this.dataId = null;
    this.errors = [];
    this.loading = true;
    this.watchedGroups.clear();
    this.sources.clear();
    this.app.loadURLs(urls, {
      // Our file URLs have no .dcm extension, which is how dwv picks its loader otherwise.
      requestHeaders: [{ name: 'Accept', value: 'application/dicom' }],
      withCredentials: true,
    });
  }

  dispose() {
    this.disposed = true;
    window.clearTimeout(this.stallTimer);
    window.clearTimeout(this.idleTimer);
    this.stop();
    this.app.abortAllLoads();
    this.app.reset();
  }

  resize() {
    if (this.dataId !== null) this.app.onResize();
  }

  setTool(tool: ViewerTool) {
    this.tool = tool;
    if (this.dataId === null) return;
    const group = this.app.getActiveLayerGroup();
    if (isDrawShape(tool)) {
      this.app.setTool('Draw');
      this.app.setToolFeatures({ shapeName: tool });
      // Shapes are drawn on the draw layer once it exists; the Draw tool creates it on first use.
      if (group && group.getNumberOfLayers() > 1) group.setActiveLayer(1);
    } else {
      this.app.setTool(tool);
      // Other tools act on the image layer: it must be the one receiving pointer events.
      group?.setActiveLayer(0);
    }
  }

  getWindow(): WindowState | null {
    const wl = this.controller()?.getWindowLevel();
    return wl ? { center: wl.center, width: wl.width } : null;
  }

  setWindow(window: WindowState) {
    const vc = this.controller();
    if (!vc || !vc.canWindowLevel()) return;
    // dwv bounds the width itself: at least 1 for LINEAR, any positive width for LINEAR_EXACT
    // (which the server sets for data of a small range, such as doses in Gy or NIfTI floats).
    vc.setWindowLevel(new this.dwv.WindowLevel(window.center, Math.max(Number.EPSILON, window.width)));
  }

  /** A window stored in the file ("Default"…) or "minmax" (the data's full range). */
  setFilePreset(name: string) {
    const vc = this.controller();
    if (!vc || !vc.canWindowLevel()) return;
    vc.setWindowLevelPreset(name);
  }

  setInverted(inverted: boolean) {
    const vc = this.controller();
    if (!vc || !vc.isMonochrome()) return;
    const flipped = this.baseColourMap === 'invPlain' ? 'plain' : 'invPlain';
    vc.setColourMap(inverted ? flipped : this.baseColourMap);
  }

  private isInverted(): boolean {
    const vc = this.controller();
    return !!vc && vc.getColourMap() !== this.baseColourMap;
  }

  /** Back to the first view: zoom, pan, the file's window and colour map; the slice is kept. */
  reset() {
    const vc = this.controller();
    if (!vc) return;
    this.app.resetZoomPan();
    if (vc.canWindowLevel()) vc.resetWindowLevel();
    if (vc.isMonochrome()) vc.setColourMap(this.baseColourMap);
  }

  private navigation(vc: ViewController): { dim: number; count: number } {
    const size = vc.getImageSize();
    const scrollDim = vc.getScrollDimIndex();
    if (size.get(scrollDim) > 1 || size.length() < 4) return { dim: scrollDim, count: size.get(scrollDim) };
    return { dim: 3, count: size.get(3) };
  }

  getPosition(): PositionState | null {
    const vc = this.controller();
    const index = vc?.getCurrentIndex();
    if (!vc || !index) return null;
    const { dim, count } = this.navigation(vc);
    let location: number | null = null;
    if (dim !== 3) {
      const value = vc.getCurrentScrollPosition();
      location = Number.isFinite(value) ? value : null;
    }
    let imageUid: string | null = null;
    try {
      imageUid = vc.getCurrentImageUid() ?? null;
    } catch {
      imageUid = null;
    }
    return { index: index.get(dim) ?? 0, count, dim, location, imageUid };
  }

  /** Moves to a slice (or frame); clamped to the data. */
  setIndex(target: number) {
    const vc = this.controller();
    const index = vc?.getCurrentIndex();
    if (!vc || !index) return;
    const { dim, count } = this.navigation(vc);
    const values = index.getValues();
    values[dim] = Math.max(0, Math.min(count - 1, Math.round(target)));
    vc.setCurrentIndex(new this.dwv.Index(values));
  }

  step(delta: number, wrap = false) {
    const position = this.getPosition();
    if (!position || position.count < 2) return;
    let next = position.index + delta;
    if (wrap) next = ((next % position.count) + position.count) % position.count;
    this.setIndex(next);
  }

  /** Cine at a given rate; dwv's own player has a fixed rate. */
  play(fps: number) {
    this.stop();
    const position = this.getPosition();
    if (!position || position.count < 2) return;
    this.cineTimer = window.setInterval(() => this.step(1, true), 1000 / Math.max(1, Math.min(60, fps)));
    this.listener.playingChanged(true);
  }

  stop() {
    if (this.cineTimer === undefined) return;
    window.clearInterval(this.cineTimer);
    this.cineTimer = undefined;
    this.listener.playingChanged(false);
  }

  isPlaying(): boolean {
    return this.cineTimer !== undefined;
  }

  /** Zooms about the centre of the view: for keyboard and buttons (the wheel zooms about the pointer). */
  zoom(step: number) {
    const group = this.app.getActiveLayerGroup();
    const vc = this.controller();
    const layer = this.dataId === null ? undefined : this.app.getViewLayersByDataId(this.dataId)[0];
    if (!group || !vc || !layer) return;
    const div = document.getElementById(this.divId);
    if (!div) return;
    const centre = layer.displayToMainPlanePos(new this.dwv.Point2D(div.clientWidth / 2, div.clientHeight / 2));
    group.addScale(step, vc.getPlanePositionFromPlanePoint(centre));
    group.draw();
  }

  /**
   * Hands a wheel or touch event to the zoom tool whatever tool is selected, so that pinch and
   * ctrl+wheel always zoom. Returns false when there is nothing to zoom yet.
   */
  forwardToZoom(event: WheelEvent | TouchEvent): boolean {
    if (this.dataId === null) return false;
    const tools = this.app.getToolboxController()?.getToolList() as unknown as Record<string, Record<string, ((e: Event) => void) | undefined>> | undefined;
    const handler = tools?.ZoomAndPan?.[event.type];
    if (!handler) return false;
    handler(event);
    return true;
  }

  sourceOf(imageUid: string): string | undefined {
    return this.sources.get(imageUid.trim());
  }

  currentTool(): ViewerTool {
    return this.tool;
  }

  deleteMeasurements() {
    for (const id of this.watchedGroups) {
      const group = this.app.getData(id)?.annotationGroup;
      if (!group) continue;
      for (const annotation of [...group.getList()]) group.remove(annotation.trackingUid);
    }
    this.emitMeasurements();
  }

  private watchAnnotations(dataId: string) {
    const group = this.app.getData(dataId)?.annotationGroup;
    if (!group || this.watchedGroups.has(dataId)) return;
    this.watchedGroups.add(dataId);
    const emit = () => this.emitMeasurements();
    group.addEventListener('annotationadd', emit);
    group.addEventListener('annotationupdate', emit);
    group.addEventListener('annotationremove', emit);
    // A shape drawn now lands on the new draw layer, which must receive the pointer events.
    if (isDrawShape(this.tool)) this.setTool(this.tool);
  }

  private emitMeasurements() {
    const list: Measurement[] = [];
    for (const id of this.watchedGroups) {
      const group = this.app.getData(id)?.annotationGroup;
      if (!group) continue;
      for (const annotation of group.getList()) list.push(describeAnnotation(annotation));
    }
    this.listener.measurementsChanged(list);
  }

  private emitWindow() {
    const window = this.getWindow();
    if (window) this.listener.windowChanged(window);
  }

  private emitPosition() {
    const position = this.getPosition();
    if (position) this.listener.positionChanged(position);
  }

  private emitInvert() {
    this.listener.invertChanged(this.isInverted());
  }

  /**
   * How the image layer draws image pixels onto its canvas (dwv: setTransform(scale, 0, 0, scale,
   * −offset·scale)), and that canvas: overlays in image pixel coordinates (segmentations) draw
   * with the same transform and stay aligned through zoom, pan and flips. Null before an image.
   */
  imagePlaneTransform(): { scaleX: number; scaleY: number; offsetX: number; offsetY: number; canvas: HTMLCanvasElement } | null {
    const layer = this.dataId === null ? undefined : this.app.getViewLayersByDataId(this.dataId)[0];
    const canvas = layer ? document.getElementById(layer.getId())?.querySelector('canvas') : null;
    if (!layer || !canvas) return null;
    const scale = layer.getScale();
    const offset = layer.displayToPlanePos(new this.dwv.Point2D(0, 0));
    return { scaleX: scale.x, scaleY: scale.y, offsetX: offset.getX(), offsetY: offset.getY(), canvas };
  }

  /** Calls back after dwv redraws (slice, zoom, pan, window, resize); answers the unsubscribe. */
  onRender(callback: () => void): () => void {
    const events = ['renderend', 'zoomchange', 'offsetchange', 'positionchange'];
    for (const type of events) this.app.addEventListener(type, callback);
    return () => {
      for (const type of events) this.app.removeEventListener(type, callback);
    };
  }
}

function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  // Errors thrown inside a decoder worker arrive as the worker's ErrorEvent.
  if (typeof ErrorEvent !== 'undefined' && error instanceof ErrorEvent) return error.message.replace(/^Uncaught (Error: )?/, '');
  if (typeof error === 'string') return error;
  return 'a file could not be read';
}

function describeAnnotation(annotation: Annotation): Measurement {
  const factory = annotation.getFactory() as { getName?: () => string } | undefined;
  const kind = factory?.getName?.() ?? 'shape';
  const quantification = annotation.quantification ?? {};
  const main = quantification.length ?? quantification.surface;
  let text = '';
  try {
    text = annotation.getText();
  } catch {
    text = '';
  }
  const { mean, stdDev, min, max } = quantification;
  const stats =
    mean && stdDev && min && max && [mean, stdDev, min, max].every((v) => Number.isFinite(v.value))
      ? { mean: mean.value, stdDev: stdDev.value, min: min.value, max: max.value, unit: mean.unit ?? null }
      : null;
  // dwv gives surfaces in cm²; lengths are in mm, and so are areas in the viewer.
  const inCm2 = main?.unit === 'unit.cm2';
  return {
    id: annotation.trackingUid,
    kind,
    text,
    value: main && Number.isFinite(main.value) ? (inCm2 ? main.value * 100 : main.value) : null,
    unit: inCm2 ? 'unit.mm2' : (main?.unit ?? null),
    stats,
  };
}
