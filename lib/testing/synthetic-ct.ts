import { writeDicom } from '@/lib/dicom/writer';

export interface SyntheticCtOptions {
  size: number;
  index: number;
  studyUid: string;
  seriesUid: string;
  sopUid: string;
  instanceNumber?: number;
  /** HU of pixel (x, y); default a body-like disc with a bone ring and some texture. */
  hu?: (x: number, y: number) => number;
  /** Default 0.7 mm. */
  pixelMm?: number;
  /** Distance between slices (the position of slice `index` is index × sliceMm); default 1.25 mm. */
  sliceMm?: number;
  /** Image Position (Patient) x and y of the first pixel; default 0. */
  originMm?: number;
  patientName?: string;
  patientId?: string;
  seriesDescription?: string;
}

/** A synthetic CT slice (MONOCHROME2, 16-bit signed, rescale -1024), by default with a body-like disc. */
export function syntheticCtSlice(options: SyntheticCtOptions): Buffer {
  const { size, index } = options;
  const pixels = new Int16Array(size * size);
  const r = size * 0.4;
  // Air outside, soft tissue inside, a "bone" ring and some texture so codecs have work to do.
  const disc = (x: number, y: number) => {
    const d = Math.hypot(x - size / 2, y - size / 2);
    return d > r ? -1000 : d > r - 6 ? 700 : 40 + ((x * 7 + y * 13 + index * 31) % 60);
  };
  const hu = options.hu ?? disc;
  for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) pixels[y * size + x] = hu(x, y) + 1024;
  const pixelMm = options.pixelMm ?? 0.7;
  const sliceMm = options.sliceMm ?? 1.25;
  const origin = options.originMm ?? 0;
  const ct = '1.2.840.10008.5.1.4.1.1.2';
  return writeDicom(
    [
      { tag: 0x00080016, vr: 'UI', value: ct },
      { tag: 0x00080018, vr: 'UI', value: options.sopUid },
      { tag: 0x00080020, vr: 'DA', value: '20260101' },
      { tag: 0x00080060, vr: 'CS', value: 'CT' },
      ...(options.seriesDescription ? [{ tag: 0x0008103e, vr: 'LO', value: options.seriesDescription }] : []),
      { tag: 0x00100010, vr: 'PN', value: options.patientName ?? 'Synthetic^Phantom' },
      { tag: 0x00100020, vr: 'LO', value: options.patientId ?? 'SYNTH-0001' },
      ...(options.sliceMm ? [{ tag: 0x00180050, vr: 'DS', value: options.sliceMm }] : []),
      { tag: 0x0020000d, vr: 'UI', value: options.studyUid },
      { tag: 0x0020000e, vr: 'UI', value: options.seriesUid },
      { tag: 0x00200013, vr: 'IS', value: String(options.instanceNumber ?? index + 1) },
      { tag: 0x00200037, vr: 'DS', value: [1, 0, 0, 0, 1, 0] },
      { tag: 0x00200032, vr: 'DS', value: [origin, origin, index * sliceMm] },
      { tag: 0x00280002, vr: 'US', value: 1 },
      { tag: 0x00280004, vr: 'CS', value: 'MONOCHROME2' },
      { tag: 0x00280010, vr: 'US', value: size },
      { tag: 0x00280011, vr: 'US', value: size },
      { tag: 0x00280030, vr: 'DS', value: [pixelMm, pixelMm] },
      { tag: 0x00280100, vr: 'US', value: 16 },
      { tag: 0x00280101, vr: 'US', value: 16 },
      { tag: 0x00280102, vr: 'US', value: 15 },
      { tag: 0x00280103, vr: 'US', value: 1 },
      { tag: 0x00281050, vr: 'DS', value: 40 },
      { tag: 0x00281051, vr: 'DS', value: 400 },
      { tag: 0x00281052, vr: 'DS', value: -1024 },
      { tag: 0x00281053, vr: 'DS', value: 1 },
      { tag: 0x7fe00010, vr: 'OW', value: new Uint8Array(pixels.buffer) },
    ],
    { sopClassUid: ct, sopInstanceUid: options.sopUid },
  );
}
