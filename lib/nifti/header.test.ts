import { readFileSync } from 'node:fs';
import { constants, gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { NiftiParseError, parseNiftiHeader, sniffNifti, type NiftiErrorCode } from './index';
import { fixturePath, loadFixtureManifest, nifti1Header, nifti2Header } from './test-helpers';

const fixtures = loadFixtureManifest();

function codeOf(fn: () => unknown): NiftiErrorCode | 'no error' {
  try {
    fn();
    return 'no error';
  } catch (error) {
    if (error instanceof NiftiParseError) return error.code;
    throw error;
  }
}

/** Inflates what a (possibly truncated) gzip file holds, without needing its end marker. */
function inflatePrefix(bytes: Uint8Array): Uint8Array {
  return gunzipSync(bytes, { finishFlush: constants.Z_SYNC_FLUSH });
}

describe('sniffNifti', () => {
  it.each(fixtures.map((f) => [f.id, f] as const))('recognises %s', (_id, entry) => {
    const bytes = readFileSync(fixturePath(entry.file));
    const gzip = entry.file.endsWith('.gz');
    const version = entry.id === 'broken_niigz_truncated' || entry.reference.format === 'nifti1' ? 1 : 2;
    if (gzip) {
      expect(sniffNifti(bytes)).toEqual({ nifti: false, gzip: true });
      expect(sniffNifti(inflatePrefix(bytes))).toEqual({ nifti: true, gzip: false, version });
    } else {
      expect(sniffNifti(bytes)).toEqual({ nifti: true, gzip: false, version });
    }
  });

  it('needs only the header prefix', () => {
    const bytes = readFileSync(fixturePath('nii_anatomical_int16_be.nii'));
    expect(sniffNifti(bytes.subarray(0, 348))).toMatchObject({ nifti: true, version: 1 });
    expect(sniffNifti(bytes.subarray(0, 347)).nifti).toBe(false);
    const nifti2 = inflatePrefix(readFileSync(fixturePath('niigz_nifti2_int16_4d.nii.gz')));
    expect(sniffNifti(nifti2.subarray(0, 12))).toMatchObject({ nifti: true, version: 2 });
  });

  const dicom = new Uint8Array(256);
  dicom.set(new TextEncoder().encode('DICM'), 128);
  const analyze = nifti1Header({ magic: '\0\0\0\0' });
  const textWith348 = new TextEncoder().encode('\x5c\x01\0\0 plain text that happens to start like a header'.padEnd(400, '.'));
  const wrongNifti2Tail = nifti2Header({ magic: 'n+2\0\n\r\x1a\n' });

  it.each([
    ['empty', new Uint8Array(0)],
    ['one byte of gzip magic', new Uint8Array([0x1f])],
    ['DICOM', dicom],
    ['text', new TextEncoder().encode('Hello, this is not an image.\n'.repeat(20))],
    ['zip', new Uint8Array([0x50, 0x4b, 0x03, 0x04, ...new Array(400).fill(0)])],
    ['PNG', new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, ...new Array(400).fill(0)])],
    ['Analyze 7.5 (no magic)', analyze],
    ['sizeof_hdr 348 without magic', textWith348],
    ['NIfTI-2 with a mangled magic tail', wrongNifti2Tail],
  ])('rejects %s', (_name, bytes) => {
    expect(sniffNifti(bytes)).toEqual({ nifti: false, gzip: false });
  });

  it('accepts both byte orders and the detached-header magics', () => {
    expect(sniffNifti(nifti1Header({ littleEndian: false }))).toEqual({ nifti: true, gzip: false, version: 1 });
    expect(sniffNifti(nifti1Header({ magic: 'ni1\0' }))).toEqual({ nifti: true, gzip: false, version: 1 });
    expect(sniffNifti(nifti2Header({ littleEndian: false }))).toEqual({ nifti: true, gzip: false, version: 2 });
    expect(sniffNifti(nifti2Header({ magic: 'ni2\0\r\n\x1a\n' }))).toEqual({ nifti: true, gzip: false, version: 2 });
  });
});

describe('parseNiftiHeader', () => {
  it('reads every field of a synthetic NIfTI-1 header', () => {
    const header = parseNiftiHeader(
      nifti1Header({
        dims: [4, 5, 6, 3],
        pixdim: [-1, 1.5, 2, 2.5, 0.8, 1, 1, 1],
        datatype: 512,
        bitpix: 16,
        sclSlope: 2,
        sclInter: -5,
        calMin: 10,
        calMax: 200,
        qformCode: 1,
        sformCode: 0,
        qoffset: [1, 2, 3],
        xyztUnits: 3 | 16,
        intentCode: 1002,
        intentName: 'velocity',
        description: 'FSL5.0\u0001',
        dimInfo: 1 | (2 << 2) | (3 << 4),
      }),
    );
    expect(header).toMatchObject({
      version: 1,
      littleEndian: true,
      sizeofHdr: 348,
      magic: 'n+1',
      singleFile: true,
      dims: [4, 5, 6, 3],
      datatypeCode: 512,
      datatype: 'uint16',
      bitpix: 16,
      bytesPerVoxel: 2,
      components: 1,
      qfac: -1,
      voxOffset: 352,
      sclSlope: 2,
      sclInter: -5,
      hasScaling: true,
      calMin: 10,
      calMax: 200,
      qformCode: 1,
      qformName: 'scanner_anat',
      sformCode: 0,
      sformName: 'unknown',
      xyztUnits: { spatial: 'micron', temporal: 'msec' },
      dimInfo: { freq: 1, phase: 2, slice: 3 },
      description: 'FSL5.0',
      intentCode: 1002,
      intentName: 'velocity',
      is4d: true,
      volumeCount: 3,
      voxelCount: 360,
      dataBytes: 720,
      minFileBytes: 1072,
    });
    expect(header.pixdim).toEqual([1.5, 2, 2.5, 0.800000011920929]);
    // qfac -1 flips the k column of the qform.
    const expected = [
      [1.5, 0, 0, 1],
      [0, 2, 0, 2],
      [0, 0, -2.5, 3],
      [0, 0, 0, 1],
    ];
    header.qform.forEach((row, i) => row.forEach((v, j) => expect(v).toBeCloseTo(expected[i]![j]!, 12)));
  });

  it('reads big-endian headers identically', () => {
    const little = parseNiftiHeader(nifti1Header({ littleEndian: true, dims: [7, 8, 9, 2], sclSlope: 0.5 }));
    const big = parseNiftiHeader(nifti1Header({ littleEndian: false, dims: [7, 8, 9, 2], sclSlope: 0.5 }));
    expect(big.littleEndian).toBe(false);
    expect({ ...big, littleEndian: true }).toEqual(little);
    const little2 = parseNiftiHeader(nifti2Header({ littleEndian: true }));
    const big2 = parseNiftiHeader(nifti2Header({ littleEndian: false }));
    expect({ ...big2, littleEndian: true }).toEqual(little2);
  });

  it('reads NIfTI-2 headers', () => {
    const header = parseNiftiHeader(nifti2Header({ dims: [10, 11, 12], datatype: 64, bitpix: 64, sclSlope: 0.25 }));
    expect(header).toMatchObject({
      version: 2,
      sizeofHdr: 540,
      magic: 'n+2',
      dims: [10, 11, 12],
      datatype: 'float64',
      voxOffset: 544,
      sclSlope: 0.25,
      dataBytes: 10 * 11 * 12 * 8,
      minFileBytes: 544 + 10 * 11 * 12 * 8,
    });
  });

  it.each([
    ['0', 0],
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
  ])('treats scl_slope %s as no scaling', (_name, slope) => {
    const header = parseNiftiHeader(nifti1Header({ sclSlope: slope, sclInter: 100 }));
    expect(header).toMatchObject({ sclSlope: 1, sclInter: 0, hasScaling: false });
  });

  it('treats a non-finite intercept as 0', () => {
    expect(parseNiftiHeader(nifti1Header({ sclSlope: 2, sclInter: Number.NaN }))).toMatchObject({ sclSlope: 2, sclInter: 0 });
  });

  it('accepts a detached header (ni1) with vox_offset 0', () => {
    const header = parseNiftiHeader(nifti1Header({ magic: 'ni1\0', voxOffset: 0 }));
    expect(header).toMatchObject({ magic: 'ni1', singleFile: false, voxOffset: 0, minFileBytes: header.dataBytes });
  });

  it('truncates a fractional vox_offset like nibabel and nifti1_io', () => {
    expect(parseNiftiHeader(nifti1Header({ voxOffset: 352.5 })).voxOffset).toBe(352);
  });

  it('names RGB and complex types with their components', () => {
    expect(parseNiftiHeader(nifti1Header({ datatype: 128, bitpix: 24 }))).toMatchObject({ datatype: 'rgb24', components: 3, bytesPerVoxel: 3 });
    expect(parseNiftiHeader(nifti1Header({ datatype: 32, bitpix: 64 }))).toMatchObject({ datatype: 'complex64', components: 2 });
    expect(parseNiftiHeader(nifti1Header({ datatype: 256, bitpix: 8 })).datatype).toBe('int8');
  });

  it.each<[string, Uint8Array, NiftiErrorCode]>([
    ['empty input', new Uint8Array(0), 'empty_file'],
    ['gzip bytes', new Uint8Array([0x1f, 0x8b, 8, 0, 0, 0, 0, 0]), 'not_nifti'],
    ['three bytes', new Uint8Array([0x5c, 0x01, 0]), 'not_nifti'],
    ['Analyze 7.5', nifti1Header({ magic: '\0\0\0\0' }), 'not_nifti'],
    ['n+1 magic with sizeof_hdr 540', (() => {
      const b = nifti1Header();
      new DataView(b.buffer).setInt32(0, 540, true);
      return b;
    })(), 'not_nifti'],
    ['a header cut at 300 bytes', nifti1Header().subarray(0, 300), 'truncated'],
    ['a NIfTI-2 header cut at 400 bytes', nifti2Header().subarray(0, 400), 'truncated'],
    ['dim[0] = 0', nifti1Header({ dim0: 0 }), 'invalid_header'],
    ['dim[0] = 8', nifti1Header({ dim0: 8 }), 'invalid_header'],
    ['dim[0] = -3', nifti1Header({ dim0: -3 }), 'invalid_header'],
    ['a zero dimension', nifti1Header({ dims: [4, 0, 6] }), 'invalid_header'],
    ['a negative dimension', nifti1Header({ dims: [4, -5, 6] }), 'invalid_header'],
    ['NIfTI-2 negative dimension', nifti2Header({ bigDims: [4n, -1n, 6n] }), 'invalid_header'],
    ['datatype 0 (unknown)', nifti1Header({ datatype: 0, bitpix: 0 }), 'unsupported_datatype'],
    ['datatype 3 (not defined)', nifti1Header({ datatype: 3, bitpix: 16 }), 'unsupported_datatype'],
    ['binary datatype', nifti1Header({ datatype: 1, bitpix: 1 }), 'unsupported_datatype'],
    ['float128', nifti1Header({ datatype: 1536, bitpix: 128 }), 'unsupported_datatype'],
    ['bitpix 8 for int16', nifti1Header({ datatype: 4, bitpix: 8 }), 'invalid_header'],
    ['bitpix 0 for float32', nifti1Header({ datatype: 16, bitpix: 0 }), 'invalid_header'],
    ['vox_offset inside the header', nifti1Header({ voxOffset: 100 }), 'invalid_header'],
    ['vox_offset 0 in a single file', nifti1Header({ voxOffset: 0 }), 'invalid_header'],
    ['negative vox_offset', nifti1Header({ voxOffset: -352 }), 'invalid_header'],
    ['NaN vox_offset', nifti1Header({ voxOffset: Number.NaN }), 'invalid_header'],
    ['vox_offset 1e30', nifti1Header({ voxOffset: 1e30 }), 'invalid_header'],
    ['NIfTI-2 vox_offset inside the header', nifti2Header({ voxOffset: 540 - 1 }), 'invalid_header'],
    ['32767^3 int16 voxels', nifti1Header({ dims: [32767, 32767, 32767] }), 'dimensions_too_large'],
    ['7 dims of 32767', nifti1Header({ dims: [32767, 32767, 32767, 32767, 32767, 32767, 32767] }), 'dimensions_too_large'],
    ['2^31 + 1 voxels', nifti2Header({ bigDims: [2n ** 31n + 1n] }), 'dimensions_too_large'],
    ['NIfTI-2 dims overflowing int64', nifti2Header({ bigDims: [2n ** 62n, 2n ** 62n, 2n ** 62n] }), 'dimensions_too_large'],
  ])('rejects %s', (_name, bytes, code) => {
    expect(codeOf(() => parseNiftiHeader(bytes))).toBe(code);
  });

  it('accepts exactly 2^31 voxels by default and honours maxVoxels', () => {
    const bytes = nifti2Header({ bigDims: [2n ** 16n, 2n ** 15n], datatype: 2, bitpix: 8 });
    expect(parseNiftiHeader(bytes).voxelCount).toBe(2 ** 31);
    expect(codeOf(() => parseNiftiHeader(bytes, { maxVoxels: 2 ** 31 - 1 }))).toBe('dimensions_too_large');
    expect(codeOf(() => parseNiftiHeader(nifti1Header({ dims: [10, 10, 10] }), { maxVoxels: 999 }))).toBe('dimensions_too_large');
  });

  it('parses every fixture header from its first bytes alone', () => {
    for (const entry of fixtures) {
      if (entry.id === 'broken_niigz_truncated') continue;
      let bytes: Uint8Array = readFileSync(fixturePath(entry.file));
      if (entry.file.endsWith('.gz')) bytes = inflatePrefix(bytes);
      const header = parseNiftiHeader(bytes.subarray(0, entry.reference.format === 'nifti2' ? 540 : 348));
      expect(header.dims, entry.id).toEqual(entry.reference.dims);
      expect(header.magic, entry.id).toBe(entry.reference.magic);
    }
  });

  it('throws only NiftiParseError for mutated headers', () => {
    // Deterministic PRNG so a failure can be reproduced.
    let seed = 12345;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const sources = [
      readFileSync(fixturePath('nii_anatomical_int16_be.nii')).subarray(0, 352),
      readFileSync(fixturePath('nii_functional_int16_4d.nii')).subarray(0, 352),
      inflatePrefix(readFileSync(fixturePath('niigz_nifti2_int16_4d.nii.gz'))).subarray(0, 544),
    ];
    let parsed = 0;
    for (let n = 0; n < 3000; n++) {
      const bytes = new Uint8Array(sources[n % sources.length]!);
      const flips = 1 + Math.floor(random() * 8);
      for (let i = 0; i < flips; i++) bytes[Math.floor(random() * bytes.length)] = Math.floor(random() * 256);
      const cut = random() < 0.1 ? Math.floor(random() * bytes.length) : bytes.length;
      try {
        parseNiftiHeader(bytes.subarray(0, cut));
        parsed++;
      } catch (error) {
        expect(error).toBeInstanceOf(NiftiParseError);
      }
    }
    expect(parsed).toBeGreaterThan(0);
  });
});
