import { gunzipSync } from 'node:zlib';
import { writeDicom } from '@/lib/dicom/writer';
import { getEnv } from '@/lib/env';
import { extractSlice, parseNiftiHeader, readNiftiVolume, sliceCounts, volumeWindow } from '@/lib/nifti';

const MULTIFRAME_GRAYSCALE_WORD_SC = '1.2.840.10008.5.1.4.1.1.7.3';

export interface DicomIdentity {
  patientName: string | null;
  patientId: string;
  studyInstanceUid: string;
  seriesInstanceUid: string;
  sopInstanceUid: string;
  modality: string | null;
  seriesDescription: string | null;
}

export class TimePointError extends Error {
  constructor(readonly timePoint: number, readonly count: number) {
    super(`time point ${timePoint + 1} does not exist: the volume has ${count}`);
    this.name = 'TimePointError';
  }
}

/**
 * Converts one 3D volume of a NIfTI file (`timePoint`, 0-based, over dims 4–7; the first by
 * default) into one multi-frame DICOM for the browser viewer, which reads DICOM only: axial
 * slices in display orientation, 16-bit with a rescale that keeps the scaled values (exactly,
 * when they are integers that fit), pixel spacing and a default window of that volume.
 */
export function niftiToDicom(fileBytes: Uint8Array, identity: DicomIdentity, options: { timePoint?: number } = {}): Buffer {
  const bytes = fileBytes[0] === 0x1f && fileBytes[1] === 0x8b ? gunzipSync(fileBytes, { maxOutputLength: getEnv().upload.maxInflatedBytes }) : fileBytes;
  const t = options.timePoint ?? 0;
  const count4d = parseNiftiHeader(bytes).volumeCount;
  if (!Number.isInteger(t) || t < 0 || t >= count4d) throw new TimePointError(t, count4d);
  const volume = readNiftiVolume(bytes, { volume: t });
  const count = sliceCounts(volume, 'display').axial;
  const slices = Array.from({ length: count }, (_, k) => extractSlice(volume, { axis: 'axial', mode: 'display', index: k, t }));
  const first = slices[0]!;
  const window = volumeWindow(volume, t);
  const integral = slices.every((s) => s.data.every((v) => !Number.isFinite(v) || (Number.isInteger(v) && v >= -32768 && v <= 32767)));
  const slope = integral ? 1 : Math.max(window.max - window.min, 1e-6) / 65534;
  const intercept = integral ? 0 : window.min + 32767 * slope;
  const pixels = new Int16Array(first.width * first.height * count);
  slices.forEach((slice, k) => {
    const base = k * first.width * first.height;
    for (let i = 0; i < slice.data.length; i++) {
      const v = slice.data[i]!;
      const stored = Number.isFinite(v) ? Math.round((v - intercept) / slope) : -32768;
      pixels[base + i] = Math.max(-32768, Math.min(32767, stored));
    }
  });
  const spacing = first.sliceSpacing ?? 1;
  return writeDicom(
    [
      { tag: 0x00080016, vr: 'UI', value: MULTIFRAME_GRAYSCALE_WORD_SC },
      { tag: 0x00080018, vr: 'UI', value: identity.sopInstanceUid },
      { tag: 0x00080060, vr: 'CS', value: identity.modality ?? 'OT' },
      { tag: 0x0008103e, vr: 'LO', value: identity.seriesDescription ?? 'NIfTI volume' },
      { tag: 0x00100010, vr: 'PN', value: identity.patientName ?? '' },
      { tag: 0x00100020, vr: 'LO', value: identity.patientId },
      { tag: 0x00180050, vr: 'DS', value: Number(spacing.toFixed(6)) },
      { tag: 0x00180088, vr: 'DS', value: Number(spacing.toFixed(6)) },
      { tag: 0x0020000d, vr: 'UI', value: identity.studyInstanceUid },
      { tag: 0x0020000e, vr: 'UI', value: identity.seriesInstanceUid },
      { tag: 0x00200013, vr: 'IS', value: '1' },
      { tag: 0x00280002, vr: 'US', value: 1 },
      { tag: 0x00280004, vr: 'CS', value: 'MONOCHROME2' },
      { tag: 0x00280008, vr: 'IS', value: String(count) },
      { tag: 0x00280010, vr: 'US', value: first.height },
      { tag: 0x00280011, vr: 'US', value: first.width },
      { tag: 0x00280030, vr: 'DS', value: first.pixelSpacing.map((v) => Number(v.toFixed(6))) },
      { tag: 0x00280100, vr: 'US', value: 16 },
      { tag: 0x00280101, vr: 'US', value: 16 },
      { tag: 0x00280102, vr: 'US', value: 15 },
      { tag: 0x00280103, vr: 'US', value: 1 },
      { tag: 0x00281050, vr: 'DS', value: Number(window.center.toPrecision(8)) },
      { tag: 0x00281051, vr: 'DS', value: Number(Math.max(window.width, 1e-3).toPrecision(8)) },
      { tag: 0x00281052, vr: 'DS', value: Number(intercept.toPrecision(10)) },
      { tag: 0x00281053, vr: 'DS', value: Number(slope.toPrecision(10)) },
      // NIfTI values are often a few units wide (or less): the DICOM LINEAR window function needs
      // a width of at least 1, LINEAR_EXACT any width (PS3.3 C.11.2.1.3).
      { tag: 0x00281056, vr: 'CS', value: 'LINEAR_EXACT' },
      { tag: 0x7fe00010, vr: 'OW', value: new Uint8Array(pixels.buffer) },
    ],
    { sopClassUid: MULTIFRAME_GRAYSCALE_WORD_SC, sopInstanceUid: identity.sopInstanceUid },
  );
}
