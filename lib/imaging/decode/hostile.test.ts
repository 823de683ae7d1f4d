import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { random } from '@/lib/dicom/__fixtures__/builder';
import type { DicomDataset, PixelDataFragment } from '@/lib/dicom';
import { image } from './__fixtures__/datasets';
import { parseFixture } from './__fixtures__/support';
import { decodeFrame, PixelDecodeError } from './index';

/** Every encapsulated fixture that decodes, with its frame count. */
const ENCAPSULATED: Array<[string, number]> = [
  ['ct_ankle_jpeg_lossless_sv1', 1],
  ['ct_jpeg_lossless_p14', 1],
  ['sc_rgb_jpeg_lossless_sv1', 1],
  ['xa_jpeg_lossless_sv1_multiframe', 4],
  ['xa_jpeg_baseline_multiframe', 4],
  ['sc_rgb_jpeg_baseline_422', 1],
  ['sc_rgb_jpeg_baseline_no_transform', 1],
  ['nm_jpeg_extended_12bit', 1],
  ['mr_small_jpegls_lossless', 1],
  ['mr_nibabel1_jpegls_near_lossless', 1],
  ['mr_small_j2k_lossless', 1],
  ['mr_siemens_j2k_lossless', 1],
  ['sc_ybr_rct_j2k_lossless_jp2header', 1],
  ['nm_j2k_lossy', 1],
  ['sc_rgb_j2k_lossy', 1],
  ['mr_small_rle', 1],
  ['sc_rgb_rle_16bit', 1],
  ['rtdose_rle_multiframe_32bit', 15],
  ['us_palette_rle_multiframe', 10],
];

/** The same dataset with its fragments pointing at other bytes (the parsed structure is kept). */
function withFragments(dataset: DicomDataset, bytes: Uint8Array, fragments: PixelDataFragment[]): DicomDataset {
  return { ...dataset, datasetBytes: bytes, pixelData: { ...dataset.pixelData!, fragments } };
}

async function outcome(dataset: DicomDataset, frame: number): Promise<'decoded' | string> {
  try {
    await decodeFrame(dataset, frame);
    return 'decoded';
  } catch (error) {
    if (error instanceof PixelDecodeError) return error.code;
    throw error;
  }
}

let exitCode: typeof process.exitCode;
beforeAll(() => {
  exitCode = process.exitCode;
});
afterAll(() => {
  // The Emscripten runtimes set process.exitCode when their C code exits; decoding must undo it.
  expect(process.exitCode).toBe(exitCode);
});

describe('damaged encapsulated pixel data', () => {
  it.each(ENCAPSULATED)('%s: every fragment cut short is corrupt_pixel_data', async (id, frames) => {
    const dataset = parseFixture(id);
    const fragments = dataset.pixelData!.fragments!;
    for (const keep of [0.5, 0.1]) {
      const cut = fragments.map((fragment) => ({ ...fragment, length: Math.max(1, Math.floor(fragment.length * keep)) }));
      const damaged = withFragments(dataset, dataset.datasetBytes, cut);
      expect(await outcome(damaged, frames - 1), `${id} keeping ${keep}`).toBe('corrupt_pixel_data');
    }
  });

  it.each(ENCAPSULATED)('%s: random byte damage decodes or fails cleanly, and never hangs', { timeout: 60_000 }, async (id, frames) => {
    const dataset = parseFixture(id);
    const fragments = dataset.pixelData!.fragments!;
    const next = random(id.length * 7919);
    for (let round = 0; round < 12; round++) {
      const bytes = dataset.datasetBytes.slice();
      const fragment = fragments[Math.floor(next() * fragments.length)]!;
      for (let k = 0; k <= round; k++) bytes[fragment.offset + Math.floor(next() * fragment.length)] = Math.floor(next() * 256);
      const result = await outcome(withFragments(dataset, bytes, fragments), Math.floor(next() * frames));
      expect(['decoded', 'corrupt_pixel_data', 'unsupported_pixel_format'], `${id} round ${round}`).toContain(result);
    }
  });

  // Taller than the data: an RLE segment with extra rows is only padding to pydicom, so the
  // check that holds for every codec is a header asking for more than is there.
  it.each(ENCAPSULATED)('%s: a DICOM header that disagrees with the codestream is refused', async (id) => {
    const dataset = parseFixture(id);
    const rows = dataset.elements.get(0x00280010)!;
    const taller = rows.value.kind === 'number' ? rows.value.values[0]! + 7 : 0;
    const elements = new Map(dataset.elements).set(0x00280010, { ...rows, value: { kind: 'number', values: [taller] } });
    expect(await outcome({ ...dataset, elements }, 0)).toBe('corrupt_pixel_data');
  });

  it('a JPEG-LS frame cut anywhere is refused at once (CharLS can spin on a stream that just stops)', { timeout: 5_000 }, async () => {
    for (const id of ['mr_small_jpegls_lossless', 'mr_nibabel1_jpegls_near_lossless']) {
      const dataset = parseFixture(id);
      const [fragment] = dataset.pixelData!.fragments!;
      for (let i = 1; i < 20; i++) {
        const cut = [{ ...fragment!, length: Math.floor((fragment!.length * i) / 20) }];
        expect(await outcome(withFragments(dataset, dataset.datasetBytes, cut), 0), `${id} cut at ${i * 5}%`).toBe('corrupt_pixel_data');
      }
    }
  });

  it('fragments that cannot be split into the declared frames', async () => {
    const dataset = image({ transferSyntax: '1.2.840.10008.1.2.5', rows: 2, columns: 2, bitsAllocated: 8, frames: '3', fragments: [new Uint8Array(64), new Uint8Array(64)] });
    expect(await outcome(dataset, 0)).toBe('corrupt_pixel_data');
  });

  it('a JPEG-LS or JPEG 2000 frame that is not one', async () => {
    for (const transferSyntax of ['1.2.840.10008.1.2.4.80', '1.2.840.10008.1.2.4.90', '1.2.840.10008.1.2.4.50']) {
      const dataset = image({ transferSyntax, rows: 2, columns: 2, fragments: [Uint8Array.from({ length: 64 }, (_, i) => i)] });
      expect(await outcome(dataset, 0), transferSyntax).toBe('corrupt_pixel_data');
    }
  });

  it('decodes again after failures (the codecs are not left broken)', async () => {
    for (const id of ['mr_small_jpegls_lossless', 'mr_small_j2k_lossless']) {
      const dataset = parseFixture(id);
      const truncated = withFragments(dataset, dataset.datasetBytes, dataset.pixelData!.fragments!.map((f) => ({ ...f, length: 40 })));
      expect(await outcome(truncated, 0)).toBe('corrupt_pixel_data');
      expect(await outcome(dataset, 0)).toBe('decoded');
    }
  });
});

describe('colour JPEG-LS', () => {
  it.each([0, 1, 2])('interleave mode %i comes out pixel-interleaved', async (mode) => {
    const factory = (await import('@cornerstonejs/codec-charls/wasmjs')).default;
    const charls = (await factory({ print: () => {}, printErr: () => {} })) as {
      JpegLSEncoder: new () => {
        getDecodedBuffer(info: object): Uint8Array;
        setInterleaveMode(mode: number): void;
        encode(): void;
        getEncodedBuffer(): Uint8Array;
        delete(): void;
      };
    };
    const [width, height] = [5, 3];
    const rgb = Uint8Array.from({ length: width * height * 3 }, (_, i) => (i * 37) & 255);
    const planar = new Uint8Array(rgb.length);
    for (let p = 0; p < width * height; p++) for (let s = 0; s < 3; s++) planar[s * width * height + p] = rgb[p * 3 + s]!;
    const encoder = new charls.JpegLSEncoder();
    // CharLS expects planes for mode 0 and pixels for the line and sample modes.
    encoder.getDecodedBuffer({ width, height, bitsPerSample: 8, componentCount: 3 }).set(mode === 0 ? planar : rgb);
    encoder.setInterleaveMode(mode);
    encoder.encode();
    const encoded = encoder.getEncodedBuffer().slice();
    encoder.delete();
    const dataset = image({ transferSyntax: '1.2.840.10008.1.2.4.80', rows: height, columns: width, samplesPerPixel: 3, bitsAllocated: 8, fragments: [encoded.length % 2 ? Uint8Array.from([...encoded, 0]) : encoded] });
    const frame = await decodeFrame(dataset, 0);
    expect(frame.photometricInterpretation).toBe('RGB');
    expect(Array.from(frame.data)).toEqual(Array.from(rgb));
  });
});
