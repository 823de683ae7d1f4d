import { randomBytes } from 'node:crypto';
import { writeNifti1 } from '@/lib/nifti/write';

const IDENTITY: Parameters<typeof writeNifti1>[0]['affine'] = [
  [1, 0, 0, 0],
  [0, 1, 0, 0],
  [0, 0, 1, 0],
  [0, 0, 0, 1],
];

/** A valid NIfTI-1 int16 volume of about `bytes`, random voxels, so every one is a new file. */
export function randomNiftiVolume(bytes: number, side = 64): Buffer {
  const nz = Math.max(1, Math.floor((bytes - 352) / (side * side * 2)));
  const voxels = randomBytes(side * side * nz * 2);
  const data = new Int16Array(voxels.buffer, voxels.byteOffset, side * side * nz);
  return Buffer.from(writeNifti1({ dims: [side, side, nz], affine: IDENTITY, data }));
}
