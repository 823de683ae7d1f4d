import type { PresetName } from '@/lib/imaging/presets';
import type { ViewerTool } from './dwv-session';

export type ShortcutAction =
  | { kind: 'tool'; tool: ViewerTool }
  | { kind: 'preset'; preset: PresetName }
  | { kind: 'auto-window' }
  | { kind: 'default-window' }
  | { kind: 'invert' }
  | { kind: 'reset' }
  | { kind: 'step'; delta: number }
  | { kind: 'first' }
  | { kind: 'last' }
  | { kind: 'play' }
  | { kind: 'fps'; delta: number }
  | { kind: 'time'; delta: number }
  | { kind: 'zoom'; step: number }
  | { kind: 'overlay' }
  | { kind: 'tags' }
  | { kind: 'help' }
  | { kind: 'close' };

export interface Shortcut {
  keys: string[];
  label: string;
  action: ShortcutAction;
}

/** One list drives both the key handler and the help overlay, so they cannot disagree. */
export const SHORTCUTS: Shortcut[] = [
  { keys: ['w'], label: 'Window/level tool (drag: left/right width, up/down level)', action: { kind: 'tool', tool: 'WindowLevel' } },
  { keys: ['z'], label: 'Zoom/pan tool (drag pans, wheel zooms)', action: { kind: 'tool', tool: 'ZoomAndPan' } },
  { keys: ['s'], label: 'Scroll tool (drag through slices)', action: { kind: 'tool', tool: 'Scroll' } },
  { keys: ['m'], label: 'Ruler (distance in mm)', action: { kind: 'tool', tool: 'Ruler' } },
  { keys: ['b'], label: 'Rectangle ROI (area, mean, SD)', action: { kind: 'tool', tool: 'Rectangle' } },
  { keys: ['e'], label: 'Ellipse ROI (area, mean, SD)', action: { kind: 'tool', tool: 'Ellipse' } },
  { keys: ['ArrowUp', 'ArrowRight'], label: 'Next slice / frame', action: { kind: 'step', delta: 1 } },
  { keys: ['ArrowDown', 'ArrowLeft'], label: 'Previous slice / frame', action: { kind: 'step', delta: -1 } },
  { keys: ['PageUp'], label: '10 slices forward', action: { kind: 'step', delta: 10 } },
  { keys: ['PageDown'], label: '10 slices back', action: { kind: 'step', delta: -10 } },
  { keys: ['Home'], label: 'First slice', action: { kind: 'first' } },
  { keys: ['End'], label: 'Last slice', action: { kind: 'last' } },
  { keys: ['.'], label: 'Next time point (4D volumes)', action: { kind: 'time', delta: 1 } },
  { keys: [','], label: 'Previous time point (4D volumes)', action: { kind: 'time', delta: -1 } },
  { keys: [' '], label: 'Play / pause cine', action: { kind: 'play' } },
  { keys: [']'], label: 'Faster cine', action: { kind: 'fps', delta: 1 } },
  { keys: ['['], label: 'Slower cine', action: { kind: 'fps', delta: -1 } },
  { keys: ['+', '='], label: 'Zoom in', action: { kind: 'zoom', step: 0.2 } },
  { keys: ['-'], label: 'Zoom out', action: { kind: 'zoom', step: -0.2 } },
  { keys: ['1'], label: 'CT brain window', action: { kind: 'preset', preset: 'brain' } },
  { keys: ['2'], label: 'CT subdural window', action: { kind: 'preset', preset: 'subdural' } },
  { keys: ['3'], label: 'CT lung window', action: { kind: 'preset', preset: 'lung' } },
  { keys: ['4'], label: 'CT mediastinum window', action: { kind: 'preset', preset: 'mediastinum' } },
  { keys: ['5'], label: 'CT abdomen window', action: { kind: 'preset', preset: 'abdomen' } },
  { keys: ['6'], label: 'CT liver window', action: { kind: 'preset', preset: 'liver' } },
  { keys: ['7'], label: 'CT bone window', action: { kind: 'preset', preset: 'bone' } },
  { keys: ['a'], label: 'Auto window (full range of the data)', action: { kind: 'auto-window' } },
  { keys: ['0'], label: "The file's own window", action: { kind: 'default-window' } },
  { keys: ['i'], label: 'Invert', action: { kind: 'invert' } },
  { keys: ['r'], label: 'Reset zoom, pan, window and invert', action: { kind: 'reset' } },
  { keys: ['o'], label: 'Show / hide the corner information', action: { kind: 'overlay' } },
  { keys: ['t'], label: 'Show / hide the DICOM tags', action: { kind: 'tags' } },
  { keys: ['?', 'h'], label: 'This help', action: { kind: 'help' } },
  { keys: ['Escape'], label: 'Close help, stop cine', action: { kind: 'close' } },
];

export function shortcutFor(event: Pick<KeyboardEvent, 'key' | 'ctrlKey' | 'metaKey' | 'altKey'>): Shortcut | undefined {
  if (event.ctrlKey || event.metaKey || event.altKey) return undefined;
  const key = event.key.length === 1 ? event.key.toLowerCase() : event.key;
  return SHORTCUTS.find((s) => s.keys.includes(key));
}

export function keyLabel(key: string): string {
  const names: Record<string, string> = { ' ': 'Space', ArrowUp: '↑', ArrowDown: '↓', ArrowLeft: '←', ArrowRight: '→', Escape: 'Esc', PageUp: 'Page Up', PageDown: 'Page Down' };
  return names[key] ?? (key.length === 1 ? key.toUpperCase() : key);
}
