import { createReadStream, readFileSync } from 'node:fs';
import { gunzipSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { inspectNifti, NiftiParseError, readNiftiBytes, readNiftiVolumeFromStream, type NiftiErrorCode, storedAsNumbers } from './index';
import { chunksOf, fixturePath, loadFixtureManifest, nifti1Header, niftiFile, trackedSource, withData } from './test-helpers';

const LIMIT = 64 * 1024 * 1024;

async function errorCode(promise: Promise<unknown>): Promise<NiftiErrorCode | 'no error'> {
  try {
    await promise;
    return 'no error';
  } catch (error) {
    if (error instanceof NiftiParseError) return error.code;
    throw error;
  }
}

describe('readNiftiBytes', () => {
  it.each(loadFixtureManifest().filter((f) => !f.expect_error).map((f) => [f.file] as const))(
    'returns exactly the inflated bytes of %s, with inspectNifti’s answer',
    async (file) => {
      const raw = readFileSync(fixturePath(file));
      const expected = file.endsWith('.gz') ? gunzipSync(raw) : raw;
      const result = await readNiftiBytes(createReadStream(fixturePath(file), { highWaterMark: 1000 }), { maxInflatedBytes: LIMIT });
      expect(Buffer.from(result.bytes).equals(expected)).toBe(true);
      const { bytes: _bytes, ...inspection } = result;
      expect(inspection).toEqual(await inspectNifti(createReadStream(fixturePath(file)), { maxInflatedBytes: LIMIT }));
    },
  );

  it('keeps trailing bytes after the voxels and works with one-byte chunks', async () => {
    const image = niftiFile({ dims: [3], datatype: 2 }, [1, 2, 3]);
    const file = new Uint8Array(image.length + 70_000).fill(9);
    file.set(image);
    const result = await readNiftiBytes(chunksOf(gzipSync(file), 1), { maxInflatedBytes: LIMIT });
    expect(Buffer.from(result.bytes).equals(Buffer.from(file))).toBe(true);
  });

  it('stops inflating a decompression bomb at the limit', async () => {
    // A header that honestly declares 32 MB of voxels, gzipped to a few KB.
    const bomb = gzipSync(withData(nifti1Header({ dims: [4096, 4096], datatype: 4, bitpix: 16 }), 4096 * 4096 * 2));
    const source = trackedSource(bomb, 1024);
    expect(await errorCode(readNiftiBytes(source, { maxInflatedBytes: 1024 * 1024 }))).toBe('inflate_limit');
    expect(source.closed).toBe(true);
    expect(source.pulled).toBeLessThan(Math.ceil(bomb.length / 1024));

    // A small image followed by 32 MB of zeros: only counting while inflating can catch it.
    const trailing = gzipSync(withData(niftiFile({ dims: [16], datatype: 2 }, new Array(16).fill(1)), 32 * 1024 * 1024));
    const trailingSource = trackedSource(trailing, 1024);
    expect(await errorCode(readNiftiBytes(trailingSource, { maxInflatedBytes: 1024 * 1024 }))).toBe('inflate_limit');
    expect(trailingSource.closed).toBe(true);
    expect(trailingSource.pulled).toBeLessThan(Math.ceil(trailing.length / 1024));
  });

  it('rejects truncated, non-NIfTI and detached-header input like inspectNifti', async () => {
    const truncated = readFileSync(fixturePath('broken_niigz_truncated.nii.gz'));
    expect(await errorCode(readNiftiBytes(chunksOf(truncated, 4096), { maxInflatedBytes: LIMIT }))).toBe('truncated');
    expect(await errorCode(readNiftiBytes(chunksOf(new Uint8Array(2000), 100), { maxInflatedBytes: LIMIT }))).toBe('not_nifti');
    const detached = readFileSync(fixturePath('broken_nii_header_only.nii'));
    expect(await errorCode(readNiftiBytes(chunksOf(detached, 100), { maxInflatedBytes: LIMIT }))).toBe('detached_header');
  });

  it('passes errors of the source through unchanged', async () => {
    const failure = new Error('disk on fire');
    async function* failing() {
      yield niftiFile({ dims: [3], datatype: 2 }, [1, 2, 3]).subarray(0, 100);
      throw failure;
    }
    await expect(readNiftiBytes(failing(), { maxInflatedBytes: LIMIT })).rejects.toBe(failure);
  });
});

describe('readNiftiVolumeFromStream', () => {
  it('decodes a streamed .nii.gz, optionally one volume only', async () => {
    const file = gzipSync(niftiFile({ dims: [2, 1, 1, 3], datatype: 512, littleEndian: false }, [1, 2, 3, 4, 65535, 6]));
    const all = await readNiftiVolumeFromStream(chunksOf(file, 7), { maxInflatedBytes: LIMIT });
    expect(Array.from(storedAsNumbers(all.stored))).toEqual([1, 2, 3, 4, 65535, 6]);
    const one = await readNiftiVolumeFromStream(chunksOf(file, 7), { maxInflatedBytes: LIMIT, volume: 2 });
    expect(Array.from(storedAsNumbers(one.stored))).toEqual([65535, 6]);
  });
});
