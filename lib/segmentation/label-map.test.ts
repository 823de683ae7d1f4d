import { describe, expect, it } from 'vitest';
import { extractSlice, readNiftiVolume, type Matrix4 } from '@/lib/nifti';
import { writeNifti1 } from '@/lib/nifti/write';
import { readSliceLabels, SliceNotFoundError, storeLabelMap } from './label-map';
import { volumeFromNifti } from './volume';

describe('label maps', () => {
  it('NIfTI: a slice comes out in display orientation, exactly as the viewer shows the image', async () => {
    // i towards the patient's left, j anterior, k superior: display flips the rows (and keeps columns).
    const affine: Matrix4 = [
      [-1, 0, 0, 0],
      [0, 1, 0, 0],
      [0, 0, 2, 0],
      [0, 0, 0, 1],
    ];
    const dims: [number, number, number] = [7, 5, 3];
    const data = Int16Array.from({ length: 7 * 5 * 3 }, (_, v) => v * 3 - 50);
    const bytes = writeNifti1({ dims, affine, data });
    const volume = volumeFromNifti(bytes, 'CT', { maxVoxels: 1e6 });
    const labels = Uint8Array.from(volume.data, (v) => (v > 0 ? 1 + (v % 3) : 0));
    const ref = await storeLabelMap(volume, labels);
    const image = readNiftiVolume(bytes);
    for (let k = 0; k < 3; k++) {
      const slice = await readSliceLabels(ref, { slice: k });
      const shown = extractSlice(image, { axis: 'axial', mode: 'display', index: k });
      expect([slice.width, slice.height]).toEqual([shown.width, shown.height]);
      expect(Array.from(slice.labels)).toEqual(Array.from(shown.data, (v) => (v > 0 ? 1 + (v % 3) : 0)));
    }
    await expect(readSliceLabels(ref, { slice: 3 })).rejects.toThrow(SliceNotFoundError);
  });

  it('DICOM: a slice is chosen by SOP Instance UID or index and laid out as the frame (rows × columns)', async () => {
    const volume = {
      dims: [4, 3, 2] as [number, number, number],
      spacing: [1, 1, 1] as [number, number, number],
      affine: [
        [-1, 0, 0, 0],
        [0, -1, 0, 0],
        [0, 0, 1, 0],
        [0, 0, 0, 1],
      ] as Matrix4,
      data: new Int16Array(24),
      modality: 'CT',
      hounsfield: true,
      spacingKnown: true,
      sliceUids: ['1.2.3.1', '1.2.3.2'],
      source: 'dicom' as const,
      warnings: [],
    };
    const labels = Uint8Array.from({ length: 24 }, (_, v) => v);
    const ref = await storeLabelMap(volume, labels);
    const second = await readSliceLabels(ref, { sop: '1.2.3.2' });
    expect(second).toMatchObject({ width: 4, height: 3, index: 1, count: 2 });
    expect(Array.from(second.labels)).toEqual(Array.from({ length: 12 }, (_, p) => 12 + p));
    expect(Array.from((await readSliceLabels(ref, { slice: 0 })).labels)).toEqual(Array.from({ length: 12 }, (_, p) => p));
    await expect(readSliceLabels(ref, { sop: '9.9' })).rejects.toThrow('not a slice of this segmentation');
  });
});
