'use client';

import type { ViewerSeries, ViewerStudy } from './types';
import type { PositionState, WindowState } from './dwv-session';
import { formatDicomDate, formatPersonName, roundWindowValue } from './view-state';

export function CornerOverlay({
  study,
  series,
  position,
  window,
  zoomHint,
}: {
  study: ViewerStudy['study'];
  series: ViewerSeries | null;
  position: PositionState | null;
  window: WindowState | null;
  zoomHint?: string;
}) {
  const patient = study.patient;
  const sexAndBirth = [patient.sex, formatDicomDate(patient.birthDate)].filter(Boolean).join(' · ');
  return (
    <div className="viewer-corners" data-testid="corner-overlay" aria-hidden="true">
      <div className="tl">
        <strong>{formatPersonName(patient.name) || '(no name)'}</strong>
        <span>{patient.patientId}</span>
        {sexAndBirth ? <span>{sexAndBirth}</span> : null}
      </div>
      <div className="tr">
        <strong>{study.description || 'Study'}</strong>
        <span>{formatDicomDate(study.studyDate)}</span>
        {study.accessionNumber ? <span>Acc. {study.accessionNumber}</span> : null}
      </div>
      <div className="bl">
        {series ? (
          <span>
            Se {series.number ?? '—'} · {series.modality ?? ''} {series.description ?? ''}
          </span>
        ) : null}
        {position ? (
          <span>
            {/* NIfTI volumes arrive as one multi-frame file whose frames are the axial slices. */}
            {series?.format === 'nifti' ? 'Slice' : position.dim === 3 ? 'Frame' : 'Im'} {position.index + 1}/{position.count}
            {position.location !== null ? ` · ${position.location.toFixed(2)} mm` : ''}
          </span>
        ) : null}
      </div>
      <div className="br">
        {window ? (
          <span>
            W {roundWindowValue(window.width)} L {roundWindowValue(window.center)}
          </span>
        ) : null}
        {zoomHint ? <span>{zoomHint}</span> : null}
      </div>
    </div>
  );
}
