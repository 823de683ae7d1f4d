'use client';

import { createContext, useContext } from 'react';

/**
 * What the viewer shows right now, for panels that work on it (AI analysis, segmentation
 * overlays): read it with useCurrentView() anywhere inside ViewerApp.
 */
export interface CurrentView {
  studyId: string;
  seriesId: string | null;
  /** The file under view: in a series of single-frame files, the one of the current slice. */
  instanceId: string | null;
  /** 0-based position in what is loaded (slice of a volume, or frame of a multi-frame file). */
  sliceIndex: number | null;
  sliceCount: number;
  /** 0-based frame within `instanceId` (0 for single-frame files). */
  frameIndex: number | null;
  /** 0-based time point of a 4D NIfTI volume; null for everything else. */
  timePoint: number | null;
  window: { center: number; width: number } | null;
  inverted: boolean;
  /** The series is loaded and drawn (readouts are valid). */
  ready: boolean;
}

export const CurrentViewContext = createContext<CurrentView | null>(null);

/** The viewer's current view; null outside a viewer. */
export function useCurrentView(): CurrentView | null {
  return useContext(CurrentViewContext);
}
