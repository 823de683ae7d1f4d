import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import * as dwv from 'dwv';
import { describe, expect, it } from 'vitest';
import { getString, listElements, parseDicom, Tags, type DicomDataset } from '@/lib/dicom';
import { dicomCorpus } from '@/lib/testing/corpus';
import { buildImage } from './__fixtures__/datasets';
import { parseFixture, pixelReferences, readFixture, sha256, stats } from './__fixtures__/support';
import { encapsulatedFrameBytes } from './frames';
import { canBrowserDecode, decodeFrame, encodeForBrowser, EXPLICIT_VR_LITTLE_ENDIAN, transcodeToExplicitLittleEndian } from './index';

const require = createRequire(import.meta.url);

async function allFrames(bytes: Uint8Array): Promise<string[]> {
  const dataset = parseDicom(bytes, { stopAtPixelData: false });
  const hashes: string[] = [];
  const frames = Number(getString(dataset, Tags.NumberOfFrames) || 1);
  for (let i = 0; i < frames; i++) hashes.push(sha256((await decodeFrame(dataset, i)).data));
  return hashes;
}

/** Every element except the file meta, pixel data and what transcoding is allowed to touch. */
function comparableRows(bytes: Uint8Array) {
  const changed = new Set(['7FE00010', '00280004', '00280006', '00282110']);
  return listElements(parseDicom(bytes, { stopAtPixelData: false }))
    .filter((row) => !row.meta && !changed.has(row.path[0]!))
    .map((row) => ({ ...row, length: row.length === null ? null : 'defined' }));
}

describe('canBrowserDecode', () => {
  it('follows what dwv 0.36 reads and decodes correctly', () => {
    for (const uid of ['1.2.840.10008.1.2', '1.2.840.10008.1.2.1', '1.2.840.10008.1.2.2', '1.2.840.10008.1.2.4.50', '1.2.840.10008.1.2.4.57', '1.2.840.10008.1.2.4.70', '1.2.840.10008.1.2.4.90', '1.2.840.10008.1.2.4.91', '1.2.840.10008.1.2.5']) {
      expect(canBrowserDecode(uid), uid).toBe(true);
    }
    for (const uid of ['1.2.840.10008.1.2.4.80', '1.2.840.10008.1.2.4.81', '1.2.840.10008.1.2.4.51', '1.2.840.10008.1.2.1.99', '1.2.840.10008.1.2.1.98', '1.2.840.10008.1.2.4.201', '1.2.840.10008.1.2.4.102', '1.2.840.10008.1.2.4.94', '']) {
      expect(canBrowserDecode(uid), uid).toBe(false);
    }
  });

  it("dwv's JPEG decoder gets 12-bit JPEG wrong, and every frame after it (why .51 is transcoded)", async () => {
    // The worker's source ships in dwv's source map; load its JpegImage twice, fresh each time.
    const map = JSON.parse(readFileSync(path.join(path.dirname(require.resolve('dwv')), 'assets/workers/jpegbaseline.worker.min.js.map'), 'utf8')) as { sources: string[]; sourcesContent: string[] };
    const source = map.sourcesContent[map.sources.findIndex((name) => name.endsWith('jpg.js'))]!;
    const folder = mkdtempSync(path.join(os.tmpdir(), 'dwv-jpg-'));
    const load = async (name: string) => {
      writeFileSync(path.join(folder, name), source);
      return ((await import(pathToFileURL(path.join(folder, name)).href)) as { JpegImage: new () => { parse(data: Uint8Array): void; getData(w: number, h: number): ArrayLike<number>; width: number; height: number } }).JpegImage;
    };
    const decode = (JpegImage: Awaited<ReturnType<typeof load>>, id: string, frames = 1) => {
      const decoder = new JpegImage();
      decoder.parse(encapsulatedFrameBytes(parseFixture(id), frames, 0));
      return Uint16Array.from(decoder.getData(decoder.width, decoder.height));
    };
    const fresh = await load('a.mjs');
    const twelve = decode(fresh, 'nm_jpeg_extended_12bit');
    expect(Math.abs(stats([twelve]).mean - pixelReferences.nm_jpeg_extended_12bit!.frame0_stored!.mean)).toBeGreaterThan(5);
    expect(sha256(decode(fresh, 'nm_jpeg_extended_12bit'))).not.toBe(sha256(twelve));
    const eightAfterTwelve = Uint8Array.from(decode(fresh, 'xa_jpeg_baseline_multiframe', 4));
    const eightFresh = Uint8Array.from(decode(await load('b.mjs'), 'xa_jpeg_baseline_multiframe', 4));
    expect(sha256(eightAfterTwelve)).not.toBe(sha256(eightFresh));
  });
});

describe('transcoding for the browser', () => {
  it.each(['mr_small_jpegls_lossless', 'mr_nibabel1_jpegls_near_lossless', 'ot_deflate'])('%s becomes Explicit VR Little Endian with the same pixels', async (id) => {
    const original = readFixture(id);
    const result = await encodeForBrowser(original);
    expect(result).toMatchObject({ change: 'transcoded', transferSyntaxUid: EXPLICIT_VR_LITTLE_ENDIAN });
    const dataset = parseDicom(result.bytes, { stopAtPixelData: false });
    expect(dataset).toMatchObject({ preamble: true, hasFileMeta: true, transferSyntaxUid: EXPLICIT_VR_LITTLE_ENDIAN, explicitVr: true, littleEndian: true, deflated: false, warnings: [] });
    expect(dataset.pixelData).toMatchObject({ encapsulated: false, complete: true });
    const frame = await decodeFrame(dataset, 0);
    expect(dataset.pixelData!.vr).toBe(frame.bitsAllocated > 8 ? 'OW' : 'OB');
    expect(dataset.pixelData!.length).toBe(frame.data.byteLength);
    expect(await allFrames(result.bytes)).toEqual(await allFrames(original));
    expect(comparableRows(result.bytes)).toEqual(comparableRows(original));
    const meta = dataset.meta!.elements;
    expect(getString(dataset.meta!, 0x00020003)).toBe(getString(parseFixture(id), Tags.SopInstanceUid));
    expect(meta.has(0x00020002) && meta.has(0x00020012)).toBe(true);
  });

  it('keeps lossy provenance: Lossy Image Compression stays 01 after decoding near-lossless JPEG-LS', async () => {
    const result = await transcodeToExplicitLittleEndian(readFixture('mr_nibabel1_jpegls_near_lossless'));
    expect(getString(parseDicom(result, { stopAtPixelData: false }), 0x00282110)).toBe('01');
  });

  it('transcodes 12-bit JPEG and baseline JPEG whose three components are RGB, which dwv would misread', async () => {
    for (const id of ['nm_jpeg_extended_12bit', 'sc_rgb_jpeg_baseline_no_transform']) {
      const original = readFixture(id);
      const result = await encodeForBrowser(original);
      expect(result.change, id).toBe('transcoded');
      expect(await allFrames(result.bytes)).toEqual(await allFrames(original));
    }
    for (const id of ['sc_rgb_jpeg_baseline_422', 'sc_rgb_jpeg_baseline_ybr', 'xa_jpeg_baseline_multiframe']) expect((await encodeForBrowser(readFixture(id))).change, id).toBe('none');
  });

  it('hands back files the browser decodes unchanged', async () => {
    for (const id of ['mr_siemens_j2k_lossless', 'ct_small_explicit_le', 'mr_small_big_endian', 'sr_test']) {
      const bytes = readFixture(id);
      const result = await encodeForBrowser(bytes);
      expect(result.change, id).toBe('none');
      expect(result.bytes).toBe(bytes);
    }
  });

  it('updates Photometric Interpretation and Planar Configuration when decoding changed the colour space', async () => {
    const original = readFixture('sc_rgb_jpeg_baseline_422');
    const bytes = await transcodeToExplicitLittleEndian(original);
    const dataset = parseDicom(bytes, { stopAtPixelData: false });
    expect(getString(dataset, Tags.PhotometricInterpretation)).toBe('RGB');
    expect(dataset.elements.get(Tags.PlanarConfiguration)?.value).toEqual({ kind: 'number', values: [0] });
    expect(dataset.pixelData).toMatchObject({ vr: 'OB', length: 100 * 100 * 3 });
    expect(await allFrames(bytes)).toEqual(await allFrames(original));
  });

  it('transcodes multi-frame RLE frame by frame, and re-packs 1-bit data', async () => {
    const rle = readFixture('rtdose_rle_multiframe_32bit');
    const out = await transcodeToExplicitLittleEndian(rle);
    expect((await allFrames(out)).length).toBe(15);
    expect(await allFrames(out)).toEqual(await allFrames(rle));
    expect(await allFrames(out)).toEqual(await allFrames(readFixture('rtdose_multiframe_32bit')));

    const packed = Uint8Array.from([0b10100101, 0b00000001, 0, 0]);
    const oneBit = buildImage({ rows: 3, columns: 3, bitsAllocated: 1, bitsStored: 1, vr: 'OB', pixels: packed, transferSyntax: '1.2.840.10008.1.2.1' });
    const rewritten = await transcodeToExplicitLittleEndian(oneBit);
    const dataset = parseDicom(rewritten, { stopAtPixelData: false });
    expect(Array.from(dataset.datasetBytes.subarray(dataset.pixelData!.offset, dataset.pixelData!.offset + 2))).toEqual([0b10100101, 0b00000001]);
  });

  it('puts a preamble and file meta group in front of datasets that lack them', async () => {
    for (const id of ['mr_small_meta_no_preamble', 'mr_nibabel1_no_preamble_implicit']) {
      const original = readFixture(id);
      const result = await encodeForBrowser(original);
      expect(result.change, id).toBe('header');
      const dataset = parseDicom(result.bytes, { stopAtPixelData: false });
      expect(dataset).toMatchObject({ preamble: true, hasFileMeta: true, transferSyntaxUid: parseDicom(original).transferSyntax.uid });
      expect(result.bytes.subarray(result.bytes.length - original.length + (parseDicom(original).datasetOffset))).toEqual(original.subarray(parseDicom(original).datasetOffset));
      expect(await allFrames(result.bytes)).toEqual(await allFrames(original));
    }
  });

  it('refuses datasets it would have to re-encode element by element', async () => {
    await expect(transcodeToExplicitLittleEndian(readFixture('mr_small_big_endian'))).rejects.toMatchObject({ code: 'unsupported_transfer_syntax' });
    await expect(transcodeToExplicitLittleEndian(readFixture('sr_test'))).rejects.toMatchObject({ code: 'no_pixel_data' });
  });
});

/** dwv's own parser (its Node build), as the viewer will run it. */
function dwvParse(bytes: Uint8Array): Record<string, { value: unknown }> {
  const parser = new (dwv as unknown as { DicomParser: new () => { parse(buffer: ArrayBuffer): void; getDicomElements(): Record<string, { value: unknown }> } }).DicomParser();
  parser.parse(bytes.slice().buffer);
  return parser.getDicomElements();
}

describe('what dwv makes of encodeForBrowser output', () => {
  const entries = dicomCorpus().flatMap((entry) => {
    let dataset: DicomDataset;
    try {
      dataset = parseDicom(new Uint8Array(readFileSync(entry.path)), { stopAtPixelData: false });
    } catch {
      return [];
    }
    return dataset.pixelData && !entry.expect_error ? [[entry.id, entry.path] as const] : [];
  });

  it('covers the fixtures with pixel data', () => {
    expect(entries.length).toBeGreaterThan(40);
  });

  it.each(entries)('%s: dwv parses it, and reads uncompressed greyscale pixels as we decode them', async (_id, file) => {
    const original = new Uint8Array(readFileSync(file));
    const result = await encodeForBrowser(original);
    const elements = dwvParse(result.bytes);
    const dataset = parseDicom(result.bytes, { stopAtPixelData: false });
    if (dataset.transferSyntax.encapsulated) return; // dwv decodes those in its web workers
    const frame = await decodeFrame(dataset, 0);
    // dwv's parser reads every 32-bit Pixel Data as Float32 (dicomParser.js), so integer RT dose
    // grids come out wrong in the viewer whatever the server sends; 1-bit data it keeps packed.
    if (frame.samplesPerPixel !== 1 || frame.bitsAllocated === 1 || frame.bitsAllocated === 32) return;
    const image = (dwv as unknown as { createImage(elements: unknown): { getBuffer(): ArrayLike<number> } }).createImage(elements);
    const buffer = image.getBuffer();
    expect(Array.from(buffer).slice(0, frame.data.length)).toEqual(Array.from(frame.data));
  });

  it('dwv refuses the originals that encodeForBrowser transcodes', () => {
    for (const id of ['mr_small_jpegls_lossless', 'ot_deflate']) expect(() => dwvParse(readFixture(id)), id).toThrow(/Unsupported DICOM transfer syntax/);
  });
});
