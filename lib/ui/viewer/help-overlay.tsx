'use client';

import { keyLabel, SHORTCUTS } from './shortcuts';

export function HelpOverlay({ onClose }: { onClose: () => void }) {
  return (
    <div className="viewer-help" role="dialog" aria-modal="true" aria-labelledby="viewer-help-title" data-testid="viewer-help">
      <div className="card">
        <div className="viewer-help-head">
          <h2 id="viewer-help-title">Keyboard shortcuts</h2>
          <button type="button" className="secondary" onClick={onClose} autoFocus>
            Close
          </button>
        </div>
        <table>
          <tbody>
            {SHORTCUTS.map((s) => (
              <tr key={s.label}>
                <td>
                  {s.keys.map((k) => (
                    <kbd key={k}>{keyLabel(k)}</kbd>
                  ))}
                </td>
                <td>{s.label}</td>
              </tr>
            ))}
          </tbody>
        </table>
        <p className="muted">
          Mouse: the selected tool acts on a left-button drag; the wheel scrolls through slices (zooms with the zoom tool). Ctrl + wheel or a pinch
          zooms with any tool.
        </p>
      </div>
    </div>
  );
}
