import { describe, expect, it } from 'vitest';
import {
  applyMatrix,
  extractSlice,
  readNiftiVolume,
  sliceCounts,
  slicePlan,
  sliceVoxel,
  storedAsNumbers,
  worldMatrix,
  type NiftiSlice,
  type NiftiVolume,
  type SliceAxis,
} from './index';
import { niftiFile, type SyntheticFields } from './test-helpers';

const NX = 4;
const NY = 5;
const NZ = 6;

/** Each voxel stores its own coordinates, so a pixel's value says which voxel it shows. */
const code = (i: number, j: number, k: number) => i + 10 * j + 100 * k;
const decode = (v: number): [number, number, number] => [v % 10, Math.floor(v / 10) % 10, Math.floor(v / 100)];

function coordinateVolume(fields: SyntheticFields = {}): NiftiVolume {
  const values: number[] = [];
  for (let k = 0; k < NZ; k++) for (let j = 0; j < NY; j++) for (let i = 0; i < NX; i++) values.push(code(i, j, k));
  return readNiftiVolume(niftiFile({ dims: [NX, NY, NZ], datatype: 4, ...fields }, values));
}

function withSform(srow: [number[], number[], number[]], extra: SyntheticFields = {}): NiftiVolume {
  return coordinateVolume({ sformCode: 1, qformCode: 0, srow, ...extra });
}

function voxelAt(slice: NiftiSlice, x: number, y: number): [number, number, number] {
  return decode(slice.data[y * slice.width + x]!);
}

/**
 * World axis (0 = x/R, 1 = y/A, 2 = z/S) and sign each image direction must follow in display
 * mode: right is towards the patient's left (−x) in axial/coronal and posterior (−y) in
 * sagittal; down is posterior (−y) in axial and inferior (−z) otherwise.
 */
const DISPLAY_DIRECTIONS: Record<SliceAxis, { right: [number, -1]; down: [number, -1]; normal: number }> = {
  axial: { right: [0, -1], down: [1, -1], normal: 2 },
  coronal: { right: [0, -1], down: [2, -1], normal: 1 },
  sagittal: { right: [1, -1], down: [2, -1], normal: 0 },
};

function dominant(v: [number, number, number]): [number, number] {
  const axis = [0, 1, 2].reduce((best, a) => (Math.abs(v[a]!) > Math.abs(v[best]!) ? a : best), 0);
  return [axis, Math.sign(v[axis]!)];
}

/** Proves a display-mode slice follows the convention, through the world coordinates of its pixels. */
function expectRadiological(volume: NiftiVolume, axis: SliceAxis) {
  const { matrix } = worldMatrix(volume.header);
  const slice = extractSlice(volume, { axis, mode: 'display' });
  const world = (x: number, y: number) => applyMatrix(matrix, ...voxelAt(slice, x, y));
  const origin = world(0, 0);
  const right = world(1, 0).map((v, n) => v - origin[n]!) as [number, number, number];
  const down = world(0, 1).map((v, n) => v - origin[n]!) as [number, number, number];
  const expected = DISPLAY_DIRECTIONS[axis];
  expect(dominant(right), `${axis}: moving right`).toEqual(expected.right);
  expect(dominant(down), `${axis}: moving down`).toEqual(expected.down);
  // The fixed voxel axis is the one closest to the plane's normal.
  const step = [0, 0, 0] as [number, number, number];
  step[slice.fixedAxis] = 1;
  const normal = applyMatrix(matrix, ...step).map((v, n) => v - matrix[n]![3]) as [number, number, number];
  expect(dominant(normal)[0], `${axis}: slice normal`).toBe(expected.normal);
  // Every pixel is the voxel sliceVoxel names, and the fixed axis stays at the slice index.
  for (let y = 0; y < slice.height; y++) {
    for (let x = 0; x < slice.width; x++) {
      const voxel = voxelAt(slice, x, y);
      expect(voxel).toEqual(sliceVoxel(slice, x, y));
      expect(voxel[slice.fixedAxis]).toBe(slice.index);
    }
  }
  return slice;
}

const AXES: SliceAxis[] = ['axial', 'coronal', 'sagittal'];

describe('display mode (radiological)', () => {
  it('RAS identity affine: flips i for axial and coronal, j for sagittal, and puts A and S on top', () => {
    const volume = withSform([
      [1, 0, 0, 0],
      [0, 1, 0, 0],
      [0, 0, 1, 0],
    ]);
    const axial = expectRadiological(volume, 'axial');
    expect(axial).toMatchObject({ fixedAxis: 2, index: 3, width: NX, height: NY, count: NZ, indexDirection: 'S' });
    expect(axial.edges).toEqual({ left: 'R', right: 'L', top: 'A', bottom: 'P' });
    // Top left shows the most right (highest i) and most anterior (highest j) voxel.
    expect(voxelAt(axial, 0, 0)).toEqual([NX - 1, NY - 1, 3]);
    expect(voxelAt(axial, NX - 1, NY - 1)).toEqual([0, 0, 3]);

    const coronal = expectRadiological(volume, 'coronal');
    expect(coronal).toMatchObject({ fixedAxis: 1, width: NX, height: NZ, count: NY });
    expect(coronal.edges).toEqual({ left: 'R', right: 'L', top: 'S', bottom: 'I' });
    expect(voxelAt(coronal, 0, 0)).toEqual([NX - 1, 2, NZ - 1]);

    const sagittal = expectRadiological(volume, 'sagittal');
    expect(sagittal).toMatchObject({ fixedAxis: 0, width: NY, height: NZ, count: NX });
    expect(sagittal.edges).toEqual({ left: 'A', right: 'P', top: 'S', bottom: 'I' });
    expect(voxelAt(sagittal, 0, 0)).toEqual([2, NY - 1, NZ - 1]);
  });

  it('LAS affine (i runs to the patient left): no left-right flip', () => {
    const volume = withSform([
      [-1, 0, 0, 0],
      [0, 1, 0, 0],
      [0, 0, 1, 0],
    ]);
    for (const axis of AXES) expectRadiological(volume, axis);
    const axial = extractSlice(volume, { axis: 'axial', mode: 'display', index: 1 });
    expect(axial.columns).toEqual({ voxelAxis: 0, reversed: false });
    expect(voxelAt(axial, 0, 0)).toEqual([0, NY - 1, 1]);
  });

  it('LPS affine (DICOM order): the axial slice is the stored rows unchanged', () => {
    const volume = withSform([
      [-1, 0, 0, 0],
      [0, -1, 0, 0],
      [0, 0, 1, 0],
    ]);
    for (const axis of AXES) expectRadiological(volume, axis);
    const axial = extractSlice(volume, { axis: 'axial', mode: 'display', index: 2 });
    expect(Array.from(storedAsNumbers(axial.stored))).toEqual(Array.from(storedAsNumbers(volume.stored.subarray(2 * NX * NY, 3 * NX * NY))));
  });

  it('permuted axes (i → inferior, j → right, k → anterior): picks the axes by direction, not position', () => {
    const volume = withSform([
      [0, 2, 0, 10],
      [0, 0, 3, 20],
      [-1.5, 0, 0, 30],
    ]);
    expect(sliceCounts(volume, 'display')).toEqual({ axial: NX, coronal: NZ, sagittal: NY });

    const axial = expectRadiological(volume, 'axial');
    expect(axial).toMatchObject({
      fixedAxis: 0,
      indexDirection: 'I',
      columns: { voxelAxis: 1, reversed: true },
      rows: { voxelAxis: 2, reversed: true },
      width: NY,
      height: NZ,
      pixelSpacing: [3, 2],
      sliceSpacing: 1.5,
    });
    expect(voxelAt(axial, 0, 0)).toEqual([2, NY - 1, NZ - 1]);

    const coronal = expectRadiological(volume, 'coronal');
    expect(coronal).toMatchObject({
      fixedAxis: 2,
      columns: { voxelAxis: 1, reversed: true },
      rows: { voxelAxis: 0, reversed: false },
      pixelSpacing: [1.5, 2],
      sliceSpacing: 3,
    });
    expect(coronal.edges).toEqual({ left: 'R', right: 'L', top: 'S', bottom: 'I' });

    const sagittal = expectRadiological(volume, 'sagittal');
    expect(sagittal).toMatchObject({
      fixedAxis: 1,
      columns: { voxelAxis: 2, reversed: true },
      rows: { voxelAxis: 0, reversed: false },
      pixelSpacing: [1.5, 3],
      sliceSpacing: 2,
    });
    expect(sagittal.edges).toEqual({ left: 'A', right: 'P', top: 'S', bottom: 'I' });
  });

  it('oblique affine (25° about z, 10° about x): uses the nearest plane without resampling', () => {
    const a = (25 * Math.PI) / 180;
    const b = (10 * Math.PI) / 180;
    // Rz(a) · Rx(b), then a left-right flip of i (LAS-like).
    const r = [
      [Math.cos(a), -Math.sin(a) * Math.cos(b), Math.sin(a) * Math.sin(b)],
      [Math.sin(a), Math.cos(a) * Math.cos(b), -Math.cos(a) * Math.sin(b)],
      [0, Math.sin(b), Math.cos(b)],
    ];
    const volume = withSform([
      [-r[0]![0]!, r[0]![1]!, r[0]![2]!, 0],
      [-r[1]![0]!, r[1]![1]!, r[1]![2]!, 0],
      [-r[2]![0]!, r[2]![1]!, r[2]![2]!, 0],
    ]);
    for (const axis of AXES) expectRadiological(volume, axis);
    expect(extractSlice(volume, { axis: 'axial', mode: 'display' }).fixedAxis).toBe(2);
  });

  it('uses the qform when there is no sform, including qfac = -1', () => {
    // Identity quaternion with qfac -1: k runs towards inferior.
    const volume = coordinateVolume({ sformCode: 0, qformCode: 1, quatern: [0, 0, 0], pixdim: [-1, 1, 1, 2, 1, 1, 1, 1] });
    expect(slicePlan(volume, 'axial', 'display')).toMatchObject({ orientationSource: 'qform', indexDirection: 'I' });
    for (const axis of AXES) expectRadiological(volume, axis);
    const coronal = extractSlice(volume, { axis: 'coronal', mode: 'display', index: 0 });
    expect(coronal.rows).toEqual({ voxelAxis: 2, reversed: false });
    expect(voxelAt(coronal, 0, 0)).toEqual([NX - 1, 0, 0]);
  });

  it('treats a file without orientation as RAS and says so', () => {
    const volume = coordinateVolume({ sformCode: 0, qformCode: 0, pixdim: [1, 0.5, 0.75, 2.5, 1, 1, 1, 1] });
    const axial = expectRadiological(volume, 'axial');
    expect(axial).toMatchObject({ orientationSource: 'pixdim', fixedAxis: 2, pixelSpacing: [0.75, 0.5], sliceSpacing: 2.5 });
    expect(axial.edges).toEqual({ left: 'R', right: 'L', top: 'A', bottom: 'P' });
  });

  it('reports pixel spacing in mm whatever the spatial unit', () => {
    const srow: [number[], number[], number[]] = [
      [0.001, 0, 0, 0],
      [0, 0.002, 0, 0],
      [0, 0, 0.003, 0],
    ];
    // srow is float32 in NIfTI-1, hence "close to".
    const metres = slicePlan(withSform(srow, { xyztUnits: 1 }), 'axial', 'display');
    expect(metres.pixelSpacing[0]).toBeCloseTo(2, 5);
    expect(metres.pixelSpacing[1]).toBeCloseTo(1, 5);
    expect(metres.sliceSpacing).toBeCloseTo(3, 5);
    const micron = slicePlan(withSform(srow, { xyztUnits: 3 }), 'axial', 'display');
    expect(micron.pixelSpacing[0]).toBeCloseTo(2e-6, 10);
    const unknown = slicePlan(withSform(srow, { xyztUnits: 0 }), 'axial', 'display');
    expect(unknown.pixelSpacing[0]).toBeCloseTo(0.002, 8);
    expect(unknown.pixelSpacing[1]).toBeCloseTo(0.001, 8);
  });
});

describe('voxel mode', () => {
  const permuted = withSform([
    [0, 2, 0, 0],
    [0, 0, 3, 0],
    [-1.5, 0, 0, 0],
  ]);

  it('cuts along the stored axes regardless of the affine, first free axis right, second up', () => {
    expect(sliceCounts(permuted, 'voxel')).toEqual({ axial: NZ, coronal: NY, sagittal: NX });
    const layouts = {
      axial: { fixedAxis: 2, columns: { voxelAxis: 0, reversed: false }, rows: { voxelAxis: 1, reversed: true }, width: NX, height: NY },
      coronal: { fixedAxis: 1, columns: { voxelAxis: 0, reversed: false }, rows: { voxelAxis: 2, reversed: true }, width: NX, height: NZ },
      sagittal: { fixedAxis: 0, columns: { voxelAxis: 1, reversed: false }, rows: { voxelAxis: 2, reversed: true }, width: NY, height: NZ },
    };
    for (const axis of AXES) {
      const slice = extractSlice(permuted, { axis, mode: 'voxel', index: 1 });
      expect(slice, axis).toMatchObject(layouts[axis]);
      for (let y = 0; y < slice.height; y++) {
        for (let x = 0; x < slice.width; x++) expect(voxelAt(slice, x, y)).toEqual(sliceVoxel(slice, x, y));
      }
    }
    const axial = extractSlice(permuted, { axis: 'axial', mode: 'voxel', index: 1 });
    expect(voxelAt(axial, 0, 0)).toEqual([0, NY - 1, 1]);
    expect(voxelAt(axial, NX - 1, NY - 1)).toEqual([NX - 1, 0, 1]);
  });

  it('still labels the edges from the affine, and spacing follows the stored axes', () => {
    const axial = slicePlan(permuted, 'axial', 'voxel');
    // i runs inferior (right edge I), j runs right (top edge R).
    expect(axial.edges).toEqual({ left: 'S', right: 'I', top: 'R', bottom: 'L' });
    expect(axial.pixelSpacing).toEqual([2, 1.5]);
    expect(axial.sliceSpacing).toBe(3);
  });
});

describe('extractSlice', () => {
  const volume = withSform([
    [1, 0, 0, 0],
    [0, 1, 0, 0],
    [0, 0, 1, 0],
  ]);

  it('defaults to the middle slice and volume 0, and refuses indices outside the volume', () => {
    expect(extractSlice(volume, { axis: 'sagittal', mode: 'voxel' })).toMatchObject({ index: 2, t: 0 });
    expect(extractSlice(volume, { axis: 'axial', mode: 'display', index: NZ - 1 }).index).toBe(NZ - 1);
    for (const index of [-1, NZ, 1.5]) {
      expect(() => extractSlice(volume, { axis: 'axial', mode: 'display', index })).toThrow(RangeError);
    }
    expect(() => extractSlice(volume, { axis: 'axial', mode: 'voxel', t: 1 })).toThrow(RangeError);
  });

  it('keeps stored values beside scaled ones, and NaN as NaN', () => {
    const scaled = coordinateVolume({ sclSlope: 2, sclInter: 1 });
    const slice = extractSlice(scaled, { axis: 'axial', mode: 'voxel', index: 0 });
    expect(slice.stored).toBeInstanceOf(Int16Array);
    slice.stored.forEach((v, n) => expect(slice.data[n]).toBe(Number(v) * 2 + 1));

    const withNaN = readNiftiVolume(niftiFile({ dims: [2, 2, 1], datatype: 16 }, [1, NaN, 3, 4]));
    const flat = extractSlice(withNaN, { axis: 'axial', mode: 'voxel' });
    // Row 0 is j = 1.
    expect(Array.from(flat.data)).toEqual([3, 4, 1, NaN]);
  });

  it('interleaves the components of RGB pixels', () => {
    const rgb = readNiftiVolume(
      niftiFile({ dims: [2, 1, 1], datatype: 128, sformCode: 1, srow: [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0]] }, [10, 20, 30, 40, 50, 60]),
    );
    const slice = extractSlice(rgb, { axis: 'axial', mode: 'display' });
    expect(slice.components).toBe(3);
    // Display mode flips i, so the second voxel comes first.
    expect(Array.from(storedAsNumbers(slice.stored))).toEqual([40, 50, 60, 10, 20, 30]);
    expect(slice.data[0]).toBeCloseTo(0.299 * 40 + 0.587 * 50 + 0.114 * 60, 4);
  });
});
