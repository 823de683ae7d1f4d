import { readFileSync } from 'node:fs';
import { constants, gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { applyMatrix, axisCodes, parseNiftiHeader, quaternToMatrix, worldMatrix, type Matrix4 } from './index';
import { fixturePath, nifti1Header } from './test-helpers';

function fixtureHeader(file: string) {
  let bytes: Uint8Array = readFileSync(fixturePath(file));
  if (file.endsWith('.gz')) bytes = gunzipSync(bytes.subarray(0, 4096), { finishFlush: constants.Z_SYNC_FLUSH });
  return parseNiftiHeader(bytes);
}

function expectMatrixClose(actual: Matrix4, expected: number[][]) {
  actual.forEach((row, i) => row.forEach((v, j) => expect(Math.abs(v - expected[i]![j]!)).toBeLessThan(1e-9)));
}

describe('quaternToMatrix', () => {
  it('gives scaled identity for the zero quaternion', () => {
    expectMatrixClose(quaternToMatrix(0, 0, 0, 5, 6, 7, 2, 3, 4, 1), [
      [2, 0, 0, 5],
      [0, 3, 0, 6],
      [0, 0, 4, 7],
      [0, 0, 0, 1],
    ]);
  });

  it('handles a 180° rotation about z (a = 0) and qfac -1', () => {
    expectMatrixClose(quaternToMatrix(0, 0, 1, 0, 0, 0, 1, 1, 1, -1), [
      [-1, 0, 0, 0],
      [0, -1, 0, 0],
      [0, 0, -1, 0],
      [0, 0, 0, 1],
    ]);
  });

  it('renormalises a quaternion whose vector part rounds to just over unit length', () => {
    const m = quaternToMatrix(0, 0, 1.0000001, 0, 0, 0, 1, 1, 1, 1);
    expectMatrixClose(m, [
      [-1, 0, 0, 0],
      [0, -1, 0, 0],
      [0, 0, 1, 0],
      [0, 0, 0, 1],
    ]);
  });

  it('replaces non-positive voxel sizes by 1 as nifti1_io does', () => {
    expectMatrixClose(quaternToMatrix(0, 0, 0, 0, 0, 0, 0, -2, 3, 1), [
      [1, 0, 0, 0],
      [0, 1, 0, 0],
      [0, 0, 3, 0],
      [0, 0, 0, 1],
    ]);
  });
});

describe('worldMatrix', () => {
  it('prefers the sform when sform_code > 0', () => {
    const header = parseNiftiHeader(nifti1Header({ qformCode: 1, sformCode: 2 }));
    expect(worldMatrix(header)).toEqual({ matrix: header.sform, source: 'sform' });
  });

  it('falls back to the qform when sform_code is 0', () => {
    const header = parseNiftiHeader(nifti1Header({ qformCode: 1, sformCode: 0 }));
    expect(worldMatrix(header)).toEqual({ matrix: header.qform, source: 'qform' });
  });

  it('falls back to voxel sizes when neither is set', () => {
    const header = parseNiftiHeader(nifti1Header({ qformCode: 0, sformCode: 0, pixdim: [1, 1.5, -2, 0, 1, 1, 1, 1] }));
    expect(worldMatrix(header)).toEqual({
      source: 'pixdim',
      matrix: [
        [1.5, 0, 0, 0],
        [0, 2, 0, 0],
        [0, 0, 1, 0],
        [0, 0, 0, 1],
      ],
    });
  });

  it('skips a declared sform that is NaN or singular', () => {
    const nan = parseNiftiHeader(nifti1Header({ sformCode: 1, srow: [[Number.NaN, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0]] }));
    expect(worldMatrix(nan).source).toBe('qform');
    const singular = parseNiftiHeader(nifti1Header({ sformCode: 1, qformCode: 0, srow: [[0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]] }));
    expect(worldMatrix(singular).source).toBe('pixdim');
  });

  it('maps voxel indices to world coordinates', () => {
    const header = fixtureHeader('nii_anatomical_int16_be.nii');
    expect(applyMatrix(worldMatrix(header).matrix, 0, 0, 0)).toEqual([32, -40, -16]);
    expect(applyMatrix(worldMatrix(header).matrix, 16, 20, 8)).toEqual([0, 0, 0]);
  });
});

describe('axisCodes', () => {
  it.each([
    ['nii_anatomical_int16_be.nii', ['L', 'A', 'S']],
    ['niigz_big_phantom_256x256x200_int16.nii.gz', ['R', 'A', 'S']],
    ['niigz_example4d_int16.nii.gz', ['L', 'A', 'S']],
    ['niigz_s0_uint16.nii.gz', ['R', 'A', 'S']],
  ])('%s is %j', (file, codes) => {
    expect(axisCodes(worldMatrix(fixtureHeader(file)).matrix)).toEqual(codes);
  });

  it('handles permuted and flipped axes', () => {
    // i → inferior, j → right, k → posterior (e.g. a sagittal acquisition stored oddly).
    const m: Matrix4 = [
      [0, 1, 0, 0],
      [0, 0, -1, 0],
      [-1, 0, 0, 0],
      [0, 0, 0, 1],
    ];
    expect(axisCodes(m)).toEqual(['I', 'R', 'P']);
  });

  it('always names three different world axes, even for degenerate matrices', () => {
    const nan = Number.NaN;
    const codes = axisCodes([
      [nan, nan, nan, 0],
      [nan, nan, nan, 0],
      [nan, nan, nan, 0],
      [0, 0, 0, 1],
    ]);
    expect(new Set(codes.map((c) => ({ L: 'x', R: 'x', P: 'y', A: 'y', I: 'z', S: 'z' })[c])).size).toBe(3);
  });
});
