import { describe, expect, it } from 'vitest';
import { parseNiftiHeader, readNiftiVolume, worldMatrix, type Matrix4 } from '@/lib/nifti';
import { readNiftiExtensions, writeNifti1 } from './write';

const affine: Matrix4 = [
  [-0.5, 0, 0, 12.5],
  [0, 0.75, 0, -3],
  [0, 0, 2, 40],
  [0, 0, 0, 1],
];

describe('writeNifti1', () => {
  it('round-trips uint8, int16 and float32 volumes with their geometry through the reader', () => {
    for (const data of [Uint8Array.from([0, 1, 2, 255, 7, 8]), Int16Array.from([-1024, 0, 3071, 5, -5, 32767]), Float32Array.from([0.5, -2.25, 1e6, 3, 4, NaN])]) {
      const bytes = writeNifti1({ dims: [3, 2, 1], affine, data });
      const volume = readNiftiVolume(bytes);
      expect(volume.shape).toEqual([3, 2, 1]);
      expect(Array.from(volume.stored as ArrayLike<number>)).toEqual(Array.from(data));
      const header = parseNiftiHeader(bytes);
      expect(worldMatrix(header)).toEqual({ matrix: affine, source: 'sform' });
      expect(header.pixdim.slice(0, 3)).toEqual([0.5, 0.75, 2]);
      expect(header.xyztUnits.spatial).toBe('mm');
    }
  });

  it('writes extensions padded to 16 bytes, which readNiftiExtensions gets back', () => {
    const text = new TextEncoder().encode('<CaretExtension/>');
    const bytes = writeNifti1({ dims: [1, 1, 1], affine, data: new Uint8Array(1), extensions: [{ code: 0, data: text }] });
    const header = parseNiftiHeader(bytes);
    expect(header.voxOffset).toBe(352 + 32);
    const [extension] = readNiftiExtensions(bytes, header.sizeofHdr, header.voxOffset);
    expect(extension!.code).toBe(0);
    expect(new TextDecoder().decode(extension!.data).replace(/\0+$/, '')).toBe('<CaretExtension/>');
    expect(readNiftiExtensions(writeNifti1({ dims: [1, 1, 1], affine, data: new Uint8Array(1) }), 348, 352)).toEqual([]);
  });

  it('refuses data that does not fill the volume', () => {
    expect(() => writeNifti1({ dims: [2, 2, 2], affine, data: new Uint8Array(7) })).toThrow(RangeError);
  });
});
