/** Answers of the viewer API (`GET /api/studies/{id}/viewer`, `GET /api/instances/{id}/tags`). */

export interface ViewerInstance {
  id: string;
  number: number | null;
  frames: number;
  /** 3D volumes of a 4D NIfTI file (1 otherwise); `fileUrl?t=<0-based>` loads one of them. */
  timePoints: number;
  /** DICOM bytes dwv can read (transcoded, or converted from NIfTI, by the server). */
  fileUrl: string;
  tagsUrl: string;
}

export interface ViewerSeries {
  id: string;
  number: number | null;
  description: string | null;
  modality: string | null;
  format: 'dicom' | 'nifti';
  thumbnailUrl: string;
  /** In slice order along the series' normal, then instance number. */
  instances: ViewerInstance[];
}

export interface ViewerStudy {
  study: {
    id: string;
    description: string | null;
    studyDate: string | null;
    accessionNumber: string | null;
    modalities: string[];
    patient: { name: string | null; patientId: string | null; birthDate: string | null; sex: string | null };
  };
  series: ViewerSeries[];
}

export interface TagElement {
  tag: string;
  keyword: string;
  vr: string;
  value: string;
  /** 0 at the top level, > 0 inside sequence items. */
  depth: number;
}
