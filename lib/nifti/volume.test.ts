import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { NiftiParseError, readNiftiVolume, scaledReader, scaledVolume, voxelValue, type NiftiErrorCode, storedAsNumbers } from './index';
import { nifti2Header, niftiFile } from './test-helpers';

function codeOf(fn: () => unknown): NiftiErrorCode | 'no error' {
  try {
    fn();
    return 'no error';
  } catch (error) {
    if (error instanceof NiftiParseError) return error.code;
    throw error;
  }
}

const DIMS = [2, 3, 2];
const VOXELS = 12;

/** Per datatype: code, the typed array expected, and VOXELS × components values covering its range. */
const TYPES = [
  { name: 'uint8', code: 2, ctor: Uint8Array, values: [0, 1, 2, 127, 128, 254, 255, 3, 4, 5, 6, 7] },
  { name: 'int8', code: 256, ctor: Int8Array, values: [-128, -1, 0, 1, 127, -2, 2, -100, 100, 5, -5, 9] },
  { name: 'int16', code: 4, ctor: Int16Array, values: [-32768, -1, 0, 1, 32767, 256, -256, 1000, -1000, 7, 8, 9] },
  { name: 'uint16', code: 512, ctor: Uint16Array, values: [0, 1, 255, 256, 65535, 32768, 4095, 2, 3, 4, 5, 6] },
  { name: 'int32', code: 8, ctor: Int32Array, values: [-(2 ** 31), -1, 0, 1, 2 ** 31 - 1, 65536, -65536, 3, 4, 5, 6, 7] },
  { name: 'uint32', code: 768, ctor: Uint32Array, values: [0, 1, 2 ** 32 - 1, 2 ** 31, 65536, 3, 4, 5, 6, 7, 8, 9] },
  { name: 'float32', code: 16, ctor: Float32Array, values: [0, -0.5, 1.5, 3.25e10, -1e-10, NaN, Infinity, -Infinity, 1, 2, 3, 4] },
  { name: 'float64', code: 64, ctor: Float64Array, values: [0, Math.PI, -1e300, 1e-300, NaN, 2 ** 53, -7, 1, 2, 3, 4, 5] },
  {
    name: 'int64',
    code: 1024,
    ctor: BigInt64Array,
    values: [-(2n ** 63n), -1n, 0n, 1n, 2n ** 63n - 1n, 2n ** 53n + 1n, 3n, 4n, 5n, 6n, 7n, 8n],
  },
  { name: 'uint64', code: 1280, ctor: BigUint64Array, values: [0n, 1n, 2n ** 64n - 1n, 2n ** 53n + 1n, 2n ** 63n, 3n, 4n, 5n, 6n, 7n, 8n, 9n] },
  {
    name: 'rgb24',
    code: 128,
    ctor: Uint8Array,
    values: Array.from({ length: VOXELS * 3 }, (_, n) => (n * 37) % 256),
  },
  {
    name: 'rgba32',
    code: 2304,
    ctor: Uint8Array,
    values: Array.from({ length: VOXELS * 4 }, (_, n) => (n * 53) % 256),
  },
  { name: 'complex64', code: 32, ctor: Float32Array, values: Array.from({ length: VOXELS * 2 }, (_, n) => n - 5.5) },
  { name: 'complex128', code: 1792, ctor: Float64Array, values: Array.from({ length: VOXELS * 2 }, (_, n) => (n - 11) / 3) },
] as const;

describe('readNiftiVolume', () => {
  describe.each(TYPES.map((t) => [t.name, t] as const))('%s', (_name, type) => {
    it.each([
      ['little-endian', true, 352],
      ['big-endian', false, 352],
      ['little-endian, odd vox_offset', true, 357],
      ['big-endian, vox_offset with extension space', false, 400],
    ])('decodes %s', (_what, littleEndian, voxOffset) => {
      const file = niftiFile({ dims: DIMS, datatype: type.code, littleEndian, voxOffset }, type.values);
      const volume = readNiftiVolume(file);
      expect(volume.header.datatype).toBe(type.name);
      expect(volume.stored).toBeInstanceOf(type.ctor);
      expect(volume.shape).toEqual([2, 3, 2]);
      expect(volume.components).toBe(type.values.length / VOXELS);
      // Through the typed array's constructor, so float32 values are compared after rounding.
      const expected = new (type.ctor as unknown as new (values: ArrayLike<number | bigint>) => Iterable<number | bigint>)(type.values);
      expect(Array.from(volume.stored as Iterable<number | bigint>)).toEqual(Array.from(expected));
    });
  });

  it('keeps int64 and uint64 exact beyond 2^53 and converts them with Number() when scaling', () => {
    const volume = readNiftiVolume(niftiFile({ dims: [2], datatype: 1024 }, [2n ** 62n + 1n, -(2n ** 62n) - 3n]));
    expect(volume.stored[0]).toBe(2n ** 62n + 1n);
    expect(volume.stored[1]).toBe(-(2n ** 62n) - 3n);
    expect(Array.from(scaledVolume(volume, 0, 'float64'))).toEqual([2 ** 62, -(2 ** 62)]);
  });

  it('reads a 1D or 2D image as a volume with unit trailing dimensions', () => {
    const volume = readNiftiVolume(niftiFile({ dims: [3, 2], datatype: 2 }, [1, 2, 3, 4, 5, 6]));
    expect(volume.shape).toEqual([3, 2, 1]);
    expect(voxelValue(volume, 2, 1, 0)).toBe(6);
  });

  describe('scaling', () => {
    it('applies scl_slope and scl_inter to scaled values and keeps the stored ones', () => {
      const volume = readNiftiVolume(niftiFile({ dims: [4], datatype: 4, sclSlope: 0.5, sclInter: -10 }, [0, 1, -4, 100]));
      expect(Array.from(storedAsNumbers(volume.stored))).toEqual([0, 1, -4, 100]);
      expect(volume).toMatchObject({ rawSclSlope: 0.5, rawSclInter: -10, sclSlope: 0.5, sclInter: -10 });
      expect(Array.from(scaledVolume(volume))).toEqual([-10, -9.5, -12, 40]);
      expect(voxelValue(volume, 3, 0, 0)).toBe(40);
    });

    it('treats scl_slope 0 as "no scaling", intercept included, and reports the raw values', () => {
      const volume = readNiftiVolume(niftiFile({ dims: [3], datatype: 4, sclSlope: 0, sclInter: 50 }, [1, 2, 3]));
      expect(volume).toMatchObject({ rawSclSlope: 0, rawSclInter: 50, sclSlope: 1, sclInter: 0 });
      expect(Array.from(scaledVolume(volume))).toEqual([1, 2, 3]);
    });

    it('ignores a NaN slope rather than turning every voxel into NaN', () => {
      const volume = readNiftiVolume(niftiFile({ dims: [2], datatype: 2, sclSlope: NaN, sclInter: 3 }, [7, 9]));
      expect(Number.isNaN(volume.rawSclSlope)).toBe(true);
      expect(Array.from(scaledVolume(volume))).toEqual([7, 9]);
    });

    it('gives float64 precision on request', () => {
      const volume = readNiftiVolume(niftiFile({ dims: [1], datatype: 64 }, [1 + 2 ** -40]));
      expect(scaledVolume(volume, 0, 'float64')[0]).toBe(1 + 2 ** -40);
      expect(scaledVolume(volume)[0]).toBe(1);
    });

    it('reads NIfTI-2 scaling from its float64 fields', () => {
      const header = nifti2Header({ dims: [2], datatype: 4, bitpix: 16, sclSlope: 1 / 3, sclInter: 2 });
      const file = new Uint8Array(header.length + 4);
      file.set(header);
      new DataView(file.buffer).setInt16(header.length, 9, true);
      new DataView(file.buffer).setInt16(header.length + 2, -3, true);
      const volume = readNiftiVolume(file);
      expect(volume).toMatchObject({ rawSclSlope: 1 / 3, rawSclInter: 2 });
      expect(Array.from(scaledVolume(volume, 0, 'float64'))).toEqual([9 / 3 + 2, -3 / 3 + 2]);
    });

    it('never scales RGB and reduces it to luma for scalar use', () => {
      const volume = readNiftiVolume(niftiFile({ dims: [2], datatype: 128, sclSlope: 2, sclInter: 5 }, [255, 0, 0, 10, 20, 30]));
      expect(volume).toMatchObject({ rawSclSlope: 2, rawSclInter: 5, sclSlope: 1, sclInter: 0, components: 3 });
      const read = scaledReader(volume);
      expect(read(0)).toBeCloseTo(0.299 * 255, 10);
      expect(read(1)).toBeCloseTo(0.299 * 10 + 0.587 * 20 + 0.114 * 30, 10);
    });

    it('gives the magnitude of scaled complex values', () => {
      const volume = readNiftiVolume(niftiFile({ dims: [2], datatype: 32, sclSlope: 2, sclInter: 1 }, [1, 2, -3, 0]));
      expect(Array.from(scaledVolume(volume, 0, 'float64'))).toEqual([Math.hypot(3, 4), 5]);
    });
  });

  describe('4D', () => {
    const values = Array.from({ length: 2 * 2 * 1 * 3 }, (_, n) => n);
    const file = niftiFile({ dims: [2, 2, 1, 3], datatype: 4 }, values);

    it('holds every volume by default and one on request', () => {
      const all = readNiftiVolume(file);
      expect(all).toMatchObject({ volumeCount: 3, firstVolume: 0, heldVolumes: 3, shape: [2, 2, 1] });
      expect(Array.from(scaledVolume(all, 2))).toEqual([8, 9, 10, 11]);
      const one = readNiftiVolume(file, { volume: 1 });
      expect(one).toMatchObject({ volumeCount: 3, firstVolume: 1, heldVolumes: 1 });
      expect(Array.from(storedAsNumbers(one.stored))).toEqual([4, 5, 6, 7]);
      expect(voxelValue(one, 1, 1, 0, 1)).toBe(7);
      expect(() => scaledVolume(one, 0)).toThrow(/not decoded/);
    });

    it('flattens dims 4 to 7 into one volume index', () => {
      const five = readNiftiVolume(niftiFile({ dims: [1, 1, 1, 2, 3], datatype: 2 }, [0, 1, 2, 3, 4, 5]));
      expect(five.volumeCount).toBe(6);
      expect(voxelValue(five, 0, 0, 0, 5)).toBe(5);
    });

    it('rejects volumes and voxels that do not exist', () => {
      expect(() => readNiftiVolume(file, { volume: 3 })).toThrow(RangeError);
      expect(() => readNiftiVolume(file, { volume: -1 })).toThrow(RangeError);
      expect(() => readNiftiVolume(file, { volume: 0.5 })).toThrow(RangeError);
      const all = readNiftiVolume(file);
      expect(() => voxelValue(all, 2, 0, 0)).toThrow(RangeError);
      expect(() => voxelValue(all, 0, 0, 0, 3)).toThrow(RangeError);
    });

    it('reads a volume that is present in a file truncated after it', () => {
      const cut = file.subarray(0, file.length - 8);
      expect(codeOf(() => readNiftiVolume(cut))).toBe('truncated');
      expect(Array.from(storedAsNumbers(readNiftiVolume(cut, { volume: 1 }).stored))).toEqual([4, 5, 6, 7]);
      expect(codeOf(() => readNiftiVolume(cut, { volume: 2 }))).toBe('truncated');
    });
  });

  it('refuses detached headers, gzip data and truncated files with NiftiParseError', () => {
    const file = niftiFile({ dims: [2, 2], datatype: 4 }, [1, 2, 3, 4]);
    expect(codeOf(() => readNiftiVolume(niftiFile({ dims: [2, 2], datatype: 4, magic: 'ni1\0' }, [1, 2, 3, 4])))).toBe('detached_header');
    expect(codeOf(() => readNiftiVolume(gzipSync(file)))).toBe('not_nifti');
    expect(codeOf(() => readNiftiVolume(file.subarray(0, file.length - 1)))).toBe('truncated');
    expect(codeOf(() => readNiftiVolume(file.subarray(0, 100)))).toBe('truncated');
    expect(codeOf(() => readNiftiVolume(niftiFile({ dims: [100, 100], datatype: 4 }, []), { maxVoxels: 1000 }))).toBe('dimensions_too_large');
  });

  it('does not share memory with the input', () => {
    const file = niftiFile({ dims: [2], datatype: 4, littleEndian: false }, [1, 2]);
    const copy = file.slice();
    const volume = readNiftiVolume(file);
    volume.stored[0] = 99;
    expect(file).toEqual(copy);
  });
});
