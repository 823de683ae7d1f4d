import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { extractMetadata, getString, parseDicom } from '@/lib/dicom';
import { readNiftiVolume } from '@/lib/nifti';
import { niftiCorpus } from '@/lib/testing/corpus';
import { dwvGreyLevels } from '@/lib/imaging/decode/__fixtures__/support';
import { niftiToDicom, TimePointError } from './nifti-dicom';

const identity = {
  patientName: 'Test^Volume',
  patientId: 'NII-1',
  studyInstanceUid: '2.25.1',
  seriesInstanceUid: '2.25.2',
  sopInstanceUid: '2.25.3',
  modality: 'MR',
  seriesDescription: 'test',
};

const volumes = niftiCorpus().filter((e) => !e.categories.includes('broken'));

describe('niftiToDicom', () => {
  it.each(volumes.map((e) => [e.id, e.path] as const))('%s: dwv draws its middle slice with the window it opens on, not as black and white', (id, file) => {
    const raw = new Uint8Array(readFileSync(file));
    const bytes = niftiToDicom(raw, identity);
    const dataset = parseDicom(new Uint8Array(bytes), { stopAtPixelData: false });
    expect(getString(dataset, 0x00281056)).toBe('LINEAR_EXACT');
    const meta = extractMetadata(dataset);
    const levels = dwvGreyLevels(new Uint8Array(bytes), Math.floor((meta.numberOfFrames ?? 1) / 2));
    // Those two hold only a few values (a block phantom; 0 and 255), niigz_func_coef_float32_4d
    // has 6 voxels a slice; the rest have room for many levels.
    const few: Record<string, number> = { niigz_standard_uint8: 2, niigz_big_phantom_256x256x200_int16: 4 };
    expect(levels, id).toBeGreaterThanOrEqual(few[id] ?? Math.min(9, (meta.rows ?? 0) * (meta.columns ?? 0)));
  });

  it("needs the viewer's whole-range fix: left to itself, dwv windows a volume by its first slice", () => {
    const bytes = new Uint8Array(niftiToDicom(new Uint8Array(readFileSync(volumes.find((e) => e.id === 'nii_float32_3d')!.path)), identity));
    expect(dwvGreyLevels(bytes, 11, false)).toBeLessThanOrEqual(2);
    expect(dwvGreyLevels(bytes, 11)).toBeGreaterThan(8);
  });

  it('converts the time point asked for, and refuses one the file does not have', () => {
    const entry = volumes.find((e) => e.id === 'nii_functional_int16_4d')!;
    const raw = new Uint8Array(readFileSync(entry.path));
    const count = readNiftiVolume(raw[0] === 0x1f ? gunzipSync(raw) : raw).volumeCount;
    expect(count).toBe(20);
    const first = niftiToDicom(raw, identity);
    const last = niftiToDicom(raw, identity, { timePoint: 19 });
    expect(Buffer.compare(first, last)).not.toBe(0);
    expect(() => niftiToDicom(raw, identity, { timePoint: 20 })).toThrow(TimePointError);
    expect(() => niftiToDicom(raw, identity, { timePoint: -1 })).toThrow(TimePointError);
  });
});
