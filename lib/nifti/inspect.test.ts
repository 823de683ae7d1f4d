import { createHash } from 'node:crypto';
import { createReadStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { createGzip, gunzipSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { inspectNifti, NiftiParseError, type NiftiErrorCode, type NiftiInspection } from './index';
import {
  chunksOf,
  fixturePath,
  loadFixtureManifest,
  nifti1Header,
  nifti2Header,
  trackedSource,
  withData,
} from './test-helpers';

const MB = 1024 * 1024;
const LIMIT = 1024 * MB;
const fixtures = loadFixtureManifest();
const good = fixtures.filter((f) => !f.expect_error);
const broken = fixtures.filter((f) => f.expect_error);

/** `header` followed by `zeros` zero bytes, gzipped without ever holding the zeros in memory. */
async function gzipBomb(header: Uint8Array, zeros: number): Promise<Buffer> {
  const gzip = createGzip({ level: 9 });
  const out: Buffer[] = [];
  gzip.on('data', (chunk: Buffer) => out.push(chunk));
  const zeroChunk = new Uint8Array(MB);
  gzip.write(header);
  for (let written = 0; written < zeros; written += MB) {
    if (!gzip.write(zeroChunk)) await once(gzip, 'drain');
  }
  gzip.end();
  await once(gzip, 'end');
  return Buffer.concat(out);
}

async function errorCode(promise: Promise<unknown>): Promise<NiftiErrorCode | 'no error'> {
  try {
    await promise;
    return 'no error';
  } catch (error) {
    if (error instanceof NiftiParseError) return error.code;
    throw error;
  }
}

function close(actual: number, expected: number | undefined, what: string) {
  expect(expected, what).toBeDefined();
  expect(Math.abs(actual - expected!), `${what}: ${actual} vs ${expected}`).toBeLessThan(1e-4);
}

describe('fixtures', () => {
  it('are the corpus files listed in the manifest', () => {
    for (const entry of fixtures) {
      const bytes = readFileSync(fixturePath(entry.file));
      expect(createHash('sha256').update(bytes).digest('hex'), entry.file).toBe(entry.sha256);
    }
    expect(good.length).toBe(11);
    expect(broken.map((f) => f.id).sort()).toEqual(['broken_nii_header_only', 'broken_niigz_truncated']);
  });
});

describe('inspectNifti on the corpus', () => {
  it.each(good.map((f) => [f.id, f] as const))('%s matches the manifest', async (_id, entry) => {
    const ref = entry.reference;
    const result: NiftiInspection = await inspectNifti(createReadStream(fixturePath(entry.file)), { maxInflatedBytes: LIMIT });
    const { header } = result;

    expect(result.gzip).toBe(ref.gzip);
    expect(result.storedBytes).toBe(entry.size);
    const raw = readFileSync(fixturePath(entry.file));
    expect(result.inflatedBytes).toBe(ref.gzip ? gunzipSync(raw).length : entry.size);
    expect(result.inflatedBytes).toBeGreaterThanOrEqual(header.minFileBytes);

    expect(`nifti${header.version}`).toBe(ref.format);
    expect(header.magic).toBe(ref.magic);
    expect(header.littleEndian ? 'little' : 'big').toBe(ref.endianness);
    expect(header.dims).toEqual(ref.dims);
    expect(header.datatype).toBe(ref.datatype);
    expect(header.datatypeCode).toBe(ref.datatype_code);
    expect(header.bitpix).toBe(ref.bitpix);
    expect(header.pixdim.length).toBe(ref.pixdim!.length);
    header.pixdim.forEach((p, i) => close(p, ref.pixdim![i], `pixdim[${i}]`));
    expect(header.voxOffset).toBe(ref.vox_offset);
    close(header.sclSlope, ref.scl_slope, 'scl_slope');
    close(header.sclInter, ref.scl_inter, 'scl_inter');
    expect(header.qformCode).toBe(ref.qform_code);
    expect(header.sformCode).toBe(ref.sform_code);
    for (const [name, matrix] of [['qform', header.qform], ['sform', header.sform]] as const) {
      matrix.forEach((row, i) => row.forEach((v, j) => close(v, ref[name]![i]![j], `${name}[${i}][${j}]`)));
    }
    expect([header.xyztUnits.spatial, header.xyztUnits.temporal]).toEqual(ref.xyzt_units);
    expect(header.is4d).toBe(ref.is_4d);
    expect(header.dataBytes).toBe(ref.dims!.reduce((a, b) => a * b, 1) * (ref.bitpix! / 8));
    expect(header.minFileBytes).toBe(ref.vox_offset! + header.dataBytes);
  });

  it('rejects broken_nii_header_only (a .hdr renamed .nii) as a detached header', async () => {
    const promise = inspectNifti(createReadStream(fixturePath('broken_nii_header_only.nii')), { maxInflatedBytes: LIMIT });
    expect(await errorCode(promise)).toBe('detached_header');
  });

  it('rejects broken_niigz_truncated as truncated', async () => {
    const promise = inspectNifti(createReadStream(fixturePath('broken_niigz_truncated.nii.gz')), { maxInflatedBytes: LIMIT });
    expect(await errorCode(promise)).toBe('truncated');
  });

  it.each([1, 7, 349, 4096])('gives the same answer when the stream arrives in %i-byte chunks', async (size) => {
    for (const file of ['nii_resampled_float32_3d.nii', 'niigz_func_coef_float32_4d.nii.gz', 'niigz_nifti2_int16_4d.nii.gz']) {
      if (size === 1 && file.includes('nifti2')) continue; // 21 KB one byte at a time is just slow
      const whole = await inspectNifti(createReadStream(fixturePath(file)), { maxInflatedBytes: LIMIT });
      const chunked = await inspectNifti(createReadStream(fixturePath(file), { highWaterMark: size }), { maxInflatedBytes: LIMIT });
      expect(chunked, file).toEqual(whole);
    }
  });

  it('parses big-endian files', async () => {
    const { header } = await inspectNifti(createReadStream(fixturePath('nii_anatomical_int16_be.nii')), { maxInflatedBytes: LIMIT });
    expect(header).toMatchObject({ littleEndian: false, dims: [33, 41, 25], datatype: 'int16' });
    const synthetic = withData(nifti1Header({ littleEndian: false, dims: [3, 4, 5], datatype: 16, bitpix: 32 }), 3 * 4 * 5 * 4);
    const result = await inspectNifti(chunksOf(gzipSync(synthetic), 100), { maxInflatedBytes: LIMIT });
    expect(result.header).toMatchObject({ littleEndian: false, dims: [3, 4, 5], datatype: 'float32' });
    expect(result).toMatchObject({ gzip: true, inflatedBytes: synthetic.length });
  });
});

describe('inspectNifti on damaged or hostile input', () => {
  const anatomical = readFileSync(fixturePath('nii_anatomical_int16_be.nii'));
  const s0 = readFileSync(fixturePath('niigz_s0_uint16.nii.gz'));

  it('rejects an empty stream and an empty gzip stream', async () => {
    expect(await errorCode(inspectNifti(chunksOf(new Uint8Array(0), 1), { maxInflatedBytes: LIMIT }))).toBe('empty_file');
    expect(await errorCode(inspectNifti(chunksOf(gzipSync(new Uint8Array(0)), 64), { maxInflatedBytes: LIMIT }))).toBe('empty_file');
  });

  it.each([
    ['text', new TextEncoder().encode('not an image\n'.repeat(100))],
    ['a DICOM preamble', new Uint8Array(1000)],
    ['a single byte', new Uint8Array([0x5c])],
  ])('rejects %s, plain or gzipped, as not_nifti', async (_name, bytes) => {
    expect(await errorCode(inspectNifti(chunksOf(bytes, 64), { maxInflatedBytes: LIMIT }))).toBe('not_nifti');
    expect(await errorCode(inspectNifti(chunksOf(gzipSync(bytes), 64), { maxInflatedBytes: LIMIT }))).toBe('not_nifti');
  });

  it('stops reading a large non-NIfTI file after the first chunk', async () => {
    const source = trackedSource(new Uint8Array(50 * MB).fill(0x41), 64 * 1024);
    expect(await errorCode(inspectNifti(source, { maxInflatedBytes: LIMIT }))).toBe('not_nifti');
    expect(source.pulled).toBe(1);
    expect(source.closed).toBe(true);
  });

  it('rejects a truncated .nii', async () => {
    const cut = anatomical.subarray(0, Math.floor(anatomical.length / 2));
    expect(await errorCode(inspectNifti(chunksOf(cut, 4096), { maxInflatedBytes: LIMIT }))).toBe('truncated');
    expect(await errorCode(inspectNifti(chunksOf(anatomical.subarray(0, anatomical.length - 1), 4096), { maxInflatedBytes: LIMIT }))).toBe(
      'truncated',
    );
    expect(await errorCode(inspectNifti(chunksOf(anatomical.subarray(0, 200), 4096), { maxInflatedBytes: LIMIT }))).toBe('truncated');
  });

  it('rejects a .nii.gz cut in the middle, at its end marker, or inside the gzip header', async () => {
    for (const length of [Math.floor(s0.length / 2), s0.length - 4, 5]) {
      const code = await errorCode(inspectNifti(chunksOf(s0.subarray(0, length), 8192), { maxInflatedBytes: LIMIT }));
      expect(code, `cut at ${length}`).toBe('truncated');
    }
  });

  it('rejects a complete gzip stream whose content is truncated', async () => {
    const content = gunzipSync(s0);
    const regzipped = gzipSync(content.subarray(0, content.length - 10));
    expect(await errorCode(inspectNifti(chunksOf(regzipped, 8192), { maxInflatedBytes: LIMIT }))).toBe('truncated');
  });

  it('rejects corrupt gzip data', async () => {
    const corrupt = new Uint8Array(s0);
    const middle = Math.floor(corrupt.length / 2);
    for (let i = middle; i < middle + 64; i++) corrupt[i] = corrupt[i]! ^ 0x5a;
    expect(await errorCode(inspectNifti(chunksOf(corrupt, 8192), { maxInflatedBytes: LIMIT }))).toBe('corrupt_gzip');
    const badCrc = new Uint8Array(s0);
    // The last 8 bytes are CRC-32 and length: damage the CRC only.
    badCrc[badCrc.length - 6] = badCrc[badCrc.length - 6]! ^ 0xff;
    expect(await errorCode(inspectNifti(chunksOf(badCrc, 8192), { maxInflatedBytes: LIMIT }))).toBe('corrupt_gzip');
    const badMethod = new Uint8Array(s0);
    badMethod[2] = 7;
    expect(await errorCode(inspectNifti(chunksOf(badMethod, 8192), { maxInflatedBytes: LIMIT }))).toBe('corrupt_gzip');
  });

  it('refuses a gzip bomb fast, without reading the whole stream', async () => {
    // A valid 1 KiB image followed by 256 MiB of zeros compresses to about 256 KiB.
    const gz = await gzipBomb(nifti1Header({ dims: [8, 8, 8], datatype: 2, bitpix: 8 }), 256 * MB);
    expect(gz.length).toBeLessThan(MB);
    const source = trackedSource(gz, 16 * 1024);
    const started = performance.now();
    const memoryBefore = process.memoryUsage().rss;
    // Stopped by the data that outruns the small image its header declares, long before the limit.
    const code = await errorCode(inspectNifti(source, { maxInflatedBytes: 4 * MB }));
    expect(code).toBe('trailing_data');
    expect(performance.now() - started).toBeLessThan(2000);
    expect(source.pulled).toBeLessThan(10);
    expect(source.closed).toBe(true);
    expect(process.memoryUsage().rss - memoryBefore).toBeLessThan(64 * MB);

    // The real caller passes a file stream: it must be closed, not left open, once refused.
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'nifti-bomb-')), 'bomb.nii.gz');
    writeFileSync(file, gz);
    const stream = createReadStream(file, { highWaterMark: 16 * 1024 });
    expect(await errorCode(inspectNifti(stream, { maxInflatedBytes: 4 * MB }))).toBe('trailing_data');
    expect(stream.destroyed).toBe(true);
    // With trailing bytes allowed up to the limit, the limit itself stops the same bomb.
    expect(await errorCode(inspectNifti(trackedSource(gz, 16 * 1024), { maxInflatedBytes: 4 * MB, maxTrailingBytes: 64 * MB }))).toBe('inflate_limit');
    expect(stream.bytesRead).toBeLessThan(gz.length);
    rmSync(path.dirname(file), { recursive: true });
  });

  it('refuses a header declaring more data than the limit before inflating the rest', async () => {
    const header = nifti1Header({ dims: [1024, 1024, 64], datatype: 2, bitpix: 8 });
    const gz = gzipSync(withData(header, 8 * MB), { level: 1 });
    const source = trackedSource(gz, 4096);
    expect(await errorCode(inspectNifti(source, { maxInflatedBytes: 16 * MB }))).toBe('inflate_limit');
    expect(source.pulled).toBeLessThan(10);
    expect(source.closed).toBe(true);
  });

  it('accepts up to maxTrailingBytes after the image, and refuses more', async () => {
    const header = nifti1Header({ dims: [8, 8, 8], datatype: 2, bitpix: 8 });
    const ok = withData(header, 512 + 1000);
    expect((await inspectNifti(chunksOf(ok, 4096), { maxInflatedBytes: 16 * MB, maxTrailingBytes: 1000 })).inflatedBytes).toBe(ok.length);
    const tooMuch = withData(header, 512 + 1001);
    expect(await errorCode(inspectNifti(chunksOf(tooMuch, 4096), { maxInflatedBytes: 16 * MB, maxTrailingBytes: 1000 }))).toBe('trailing_data');
  });

  it('refuses huge declared dimensions from the header alone', async () => {
    for (const header of [
      nifti1Header({ dims: [32767, 32767, 32767, 32767] }),
      nifti2Header({ bigDims: [2n ** 40n, 2n ** 40n] }),
      nifti2Header({ bigDims: [2n ** 20n, 2n ** 20n], datatype: 2, bitpix: 8 }),
    ]) {
      const source = trackedSource(withData(header, MB), 4096);
      expect(await errorCode(inspectNifti(source, { maxInflatedBytes: Number.MAX_SAFE_INTEGER }))).toBe('dimensions_too_large');
      expect(source.pulled).toBe(1);
      expect(source.closed).toBe(true);
    }
    const small = withData(nifti1Header({ dims: [100, 100, 100] }), 2_000_000);
    expect(await errorCode(inspectNifti(chunksOf(small, 4096), { maxInflatedBytes: LIMIT, maxVoxels: 999_999 }))).toBe(
      'dimensions_too_large',
    );
  });

  it('counts trailing bytes of uncompressed files against the limit', async () => {
    const file = withData(nifti1Header({ dims: [4, 4, 4], datatype: 2, bitpix: 8 }), 10_000);
    const result = await inspectNifti(chunksOf(file, 1000), { maxInflatedBytes: file.length });
    expect(result).toMatchObject({ gzip: false, storedBytes: file.length, inflatedBytes: file.length });
    expect(await errorCode(inspectNifti(chunksOf(file, 1000), { maxInflatedBytes: file.length - 1 }))).toBe('inflate_limit');
  });

  it('rejects header errors with their own codes', async () => {
    const cases: [Uint8Array, NiftiErrorCode][] = [
      [nifti1Header({ datatype: 1536, bitpix: 128 }), 'unsupported_datatype'],
      [nifti1Header({ dim0: 9 }), 'invalid_header'],
      [nifti1Header({ voxOffset: 0 }), 'invalid_header'],
      [nifti2Header({ magic: 'ni2\0\r\n\x1a\n', voxOffset: 0 }), 'detached_header'],
    ];
    for (const [header, code] of cases) {
      expect(await errorCode(inspectNifti(chunksOf(withData(header, 1000), 100), { maxInflatedBytes: LIMIT }))).toBe(code);
      expect(await errorCode(inspectNifti(chunksOf(gzipSync(withData(header, 1000)), 100), { maxInflatedBytes: LIMIT }))).toBe(code);
    }
  });

  it('passes errors of the source itself through unchanged', async () => {
    const failure = new Error('disk on fire');
    async function* failing() {
      yield anatomical.subarray(0, 1000);
      throw failure;
    }
    await expect(inspectNifti(failing(), { maxInflatedBytes: LIMIT })).rejects.toBe(failure);
    async function* failingGzip() {
      yield s0.subarray(0, 1000);
      throw failure;
    }
    await expect(inspectNifti(failingGzip(), { maxInflatedBytes: LIMIT })).rejects.toBe(failure);
  });

  it('throws only NiftiParseError for mutated files', async () => {
    let seed = 987654;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const sources = [anatomical, readFileSync(fixturePath('niigz_standard_uint8.nii.gz')), readFileSync(fixturePath('niigz_func_coef_float32_4d.nii.gz'))];
    let accepted = 0;
    for (let n = 0; n < 300; n++) {
      const bytes = new Uint8Array(sources[n % sources.length]!);
      const flips = 1 + Math.floor(random() * 6);
      // Mostly the first 600 bytes: the header (or the gzip header and the deflated header).
      for (let i = 0; i < flips; i++) bytes[Math.floor(random() * Math.min(bytes.length, 600))] = Math.floor(random() * 256);
      const cut = random() < 0.2 ? Math.floor(random() * bytes.length) : bytes.length;
      try {
        await inspectNifti(chunksOf(bytes.subarray(0, cut), 512), { maxInflatedBytes: 4 * MB });
        accepted++;
      } catch (error) {
        expect(error).toBeInstanceOf(NiftiParseError);
      }
    }
    expect(accepted).toBeGreaterThan(0);
  });

  it('rejects invalid options and text streams as programming errors', async () => {
    await expect(inspectNifti(chunksOf(anatomical, 4096), { maxInflatedBytes: Number.NaN })).rejects.toBeInstanceOf(RangeError);
    const textStream = createReadStream(fixturePath('nii_resampled_float32_3d.nii'), { encoding: 'latin1' });
    await expect(inspectNifti(textStream, { maxInflatedBytes: LIMIT })).rejects.toBeInstanceOf(TypeError);
  });
});
