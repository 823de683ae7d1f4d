'use client';

import dynamic from 'next/dynamic';

/**
 * dwv needs a browser (its Node build cannot even be bundled for the server), so the whole viewer
 * renders on the client only; it fetches its study there anyway.
 */
export const Viewer = dynamic(() => import('./viewer-app').then((m) => m.ViewerApp), {
  ssr: false,
  loading: () => (
    <div className="viewer-shell viewer-message" data-testid="viewer" data-state="loading">
      <p className="muted">Loading viewer…</p>
    </div>
  ),
});
