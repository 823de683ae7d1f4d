/**
 * What a viewer URL holds, so that a link reopens the same view: the study is in the path, the
 * rest in the query string (`series`, `instance` for series of several multi-frame files, `t` the
 * time point of a 4D volume, `slice` counted from 1, `wc`/`ww` window centre and width, `invert`).
 */
import { WINDOW_PRESETS, type PresetName } from '@/lib/imaging/presets';
import type { TagElement } from './types';

export interface ViewQuery {
  series?: string;
  /** 1-based; only for series shown one multi-frame file at a time. */
  instance?: number;
  /** 1-based; only for 4D volumes. */
  time?: number;
  /** 1-based, as shown to users. */
  slice?: number;
  window?: { center: number; width: number };
  invert?: boolean;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function finite(text: string | null): number | undefined {
  if (text === null || text.trim() === '') return undefined;
  const value = Number(text);
  return Number.isFinite(value) ? value : undefined;
}

export function parseViewQuery(params: URLSearchParams): ViewQuery {
  const query: ViewQuery = {};
  const series = params.get('series');
  if (series && UUID.test(series)) query.series = series.toLowerCase();
  const instance = finite(params.get('instance'));
  if (instance !== undefined && Number.isInteger(instance) && instance >= 1) query.instance = instance;
  const time = finite(params.get('t'));
  if (time !== undefined && Number.isInteger(time) && time >= 1) query.time = time;
  const slice = finite(params.get('slice'));
  if (slice !== undefined && Number.isInteger(slice) && slice >= 1) query.slice = slice;
  const center = finite(params.get('wc'));
  const width = finite(params.get('ww'));
  if (center !== undefined && width !== undefined && width > 0) query.window = { center, width };
  const invert = params.get('invert');
  if (invert === '1' || invert === 'true') query.invert = true;
  return query;
}

/**
 * Window values are rounded: a URL holds what a reader can type, not float noise from dragging.
 * Whole numbers from 100 up, four significant digits below (doses in Gy, NIfTI floats).
 */
export function roundWindowValue(value: number): number {
  return Math.abs(value) >= 100 ? Math.round(value) : Number(value.toPrecision(4));
}

export function buildViewQuery(query: ViewQuery): string {
  const params = new URLSearchParams();
  if (query.series) params.set('series', query.series);
  if (query.instance !== undefined) params.set('instance', String(query.instance));
  if (query.time !== undefined) params.set('t', String(query.time));
  if (query.slice !== undefined) params.set('slice', String(query.slice));
  if (query.window) {
    params.set('wc', String(roundWindowValue(query.window.center)));
    params.set('ww', String(roundWindowValue(query.window.width)));
  }
  if (query.invert) params.set('invert', '1');
  return params.toString();
}

/**
 * What dwv loads at once: a series of single-frame files is one volume; files that hold several
 * frames each (cine runs, multi-frame CT/MR) cannot be stacked and are shown one at a time.
 */
export function loadUnits<T extends { frames: number }>(instances: T[]): T[][] {
  if (instances.length > 1 && instances.some((i) => i.frames > 1)) return instances.map((i) => [i]);
  return instances.length ? [instances] : [];
}

/** The URL dwv loads for an instance: a 4D volume's file names its time point (0-based on the wire). */
export function instanceFileUrl(instance: { fileUrl: string; timePoints: number }, time: number): string {
  return instance.timePoints > 1 && time > 1 ? `${instance.fileUrl}?t=${Math.min(time, instance.timePoints) - 1}` : instance.fileUrl;
}

/** The CT presets of lib/imaging, in the order the viewer lists them. */
export const CT_PRESETS: PresetName[] = ['brain', 'subdural', 'lung', 'mediastinum', 'abdomen', 'liver', 'bone'];

export function presetWindow(name: PresetName): { center: number; width: number } {
  const preset = WINDOW_PRESETS[name];
  return { center: preset.center, width: preset.width };
}

/** The CT preset a window is exactly, if any (a dragged window is "custom"). */
export function matchPreset(window: { center: number; width: number } | null): PresetName | null {
  if (!window) return null;
  for (const name of CT_PRESETS) {
    const preset = WINDOW_PRESETS[name];
    if (Math.abs(preset.center - window.center) < 0.5 && Math.abs(preset.width - window.width) < 0.5) return name;
  }
  return null;
}

/** DICOM DA (YYYYMMDD, or the old YYYY.MM.DD) as YYYY-MM-DD; anything else as it is. */
export function formatDicomDate(value: string | null | undefined): string {
  if (!value) return '';
  const match = /^(\d{4})\.?(\d{2})\.?(\d{2})$/.exec(value.trim());
  return match ? `${match[1]}-${match[2]}-${match[3]}` : value;
}

/** DICOM PN ("Family^Given^Middle^Prefix^Suffix") as "Family, Given Middle". */
export function formatPersonName(value: string | null | undefined): string {
  if (!value) return '';
  const alphabetic = value.split('=')[0] ?? '';
  const [family = '', given = '', middle = '', prefix = '', suffix = ''] = alphabetic.split('^').map((p) => p.trim());
  const first = [prefix, given, middle].filter(Boolean).join(' ');
  const name = [family, first].filter(Boolean).join(', ');
  return [name, suffix].filter(Boolean).join(' ') || value;
}

/**
 * Tags matching a search (tag number with or without punctuation, keyword, or value, case
 * insensitive). Items of a matching sequence are kept, and the sequences enclosing a match, so
 * that nested results keep their context.
 */
export function filterTags(elements: TagElement[], search: string): TagElement[] {
  const needle = search.trim().toLowerCase();
  if (!needle) return elements;
  const compact = needle.replace(/[(),\s]/g, '');
  const matches = (e: TagElement) =>
    e.keyword.toLowerCase().includes(needle) ||
    e.value.toLowerCase().includes(needle) ||
    e.tag.toLowerCase().includes(needle) ||
    (compact.length > 0 && e.tag.replace(/[(),]/g, '').toLowerCase().includes(compact));
  const keep = new Array<boolean>(elements.length).fill(false);
  const ancestors: number[] = [];
  for (let i = 0; i < elements.length; i++) {
    const element = elements[i]!;
    while (ancestors.length > 0 && elements[ancestors[ancestors.length - 1]!]!.depth >= element.depth) ancestors.pop();
    const insideMatch = ancestors.some((a) => keep[a] && matches(elements[a]!));
    if (matches(element) || insideMatch) {
      keep[i] = true;
      for (const a of ancestors) keep[a] = true;
    }
    if (element.vr === 'SQ') ancestors.push(i);
  }
  return elements.filter((_, i) => keep[i]);
}

/** A dwv unit ("unit.mm", "unit.cm2", "HU"…) as shown to users. */
export function unitLabel(unit: string | null | undefined): string {
  const name = (unit ?? '').replace(/^unit\./, '');
  const labels: Record<string, string> = { mm2: 'mm²', cm2: 'cm²', pixel: 'px', hu: 'HU', gy: 'Gy' };
  return labels[name.toLowerCase()] ?? name;
}

/** "12.34 mm" / "2.32 cm²". */
export function formatMeasurement(value: number | null, unit: string | null): string {
  if (value === null) return '';
  const label = unitLabel(unit);
  return `${value.toFixed(2)}${label ? ` ${label}` : ''}`;
}

/** ROI statistics: "mean 40.2 ± 12.1 HU, min -20, max 90". */
export function formatStats(stats: { mean: number; stdDev: number; min: number; max: number; unit: string | null }): string {
  const label = unitLabel(stats.unit);
  const n = (v: number) => (Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(1));
  return `mean ${n(stats.mean)} ± ${n(stats.stdDev)}${label ? ` ${label}` : ''}, min ${n(stats.min)}, max ${n(stats.max)}`;
}
