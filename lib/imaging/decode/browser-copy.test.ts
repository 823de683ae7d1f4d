/**
 * Browser copies for what dwv 0.36 gets wrong: each fix is checked pixel by pixel against our
 * decoder, and where it matters against dwv's own code (its parser, image factory and the
 * decoders of its web workers, run here in Node).
 */
import { readFileSync } from 'node:fs';
import * as dwv from 'dwv';
import { beforeAll, describe, expect, it } from 'vitest';
import { getNumber, getString, listElements, parseDicom, Tags, unwrapJp2 } from '@/lib/dicom';
import { element, str, EXPLICIT_LE } from '@/lib/dicom/__fixtures__/builder';
import { dicomCorpus } from '@/lib/testing/corpus';
import type { PixelArray } from '../types';
import { buildImage, sampleBytes } from './__fixtures__/datasets';
import { dwvGreyLevels, loadDwvWorkerModule, parseFixture, readFixture } from './__fixtures__/support';
import { encapsulatedPixelData } from './browser-fixes';
import { encapsulatedFrameBytes } from './frames';
import { decodeFrame, encodeForBrowser, pixelFixes, type BrowserFix } from './index';
import { readPixelModule } from './pixel-module';
import { concat, rewriteDataset } from './rewrite';

type DwvImage = { getBuffer(): ArrayLike<number>; getRescaledValueAtOffset(offset: number): number; getMeta(): Record<string, unknown> };
type Elements = Record<string, { value: unknown[] } | undefined>;

function dwvElements(bytes: Uint8Array): Elements {
  const parser = new (dwv as unknown as { DicomParser: new () => { parse(buffer: ArrayBuffer): void; getDicomElements(): Elements } }).DicomParser();
  parser.parse(bytes.slice().buffer);
  return parser.getDicomElements();
}

function dwvImage(bytes: Uint8Array): DwvImage {
  return (dwv as unknown as { createImage(elements: Elements): DwvImage }).createImage(dwvElements(bytes));
}

async function frames(bytes: Uint8Array): Promise<PixelArray[]> {
  const dataset = parseDicom(bytes, { stopAtPixelData: false });
  const out: PixelArray[] = [];
  for (let i = 0; i < readPixelModule(dataset).numberOfFrames; i++) out.push((await decodeFrame(dataset, i)).data);
  return out;
}

const flat = (arrays: PixelArray[]) => arrays.flatMap((a) => Array.from(a));

/** dwv's worker decoders: pdf.js JPEG and JPEG 2000, rii-mango lossless JPEG, its own RLE. */
interface DwvDecoders {
  jpx: new () => { parse(data: Uint8Array): void; tiles: { items: ArrayLike<number> }[] };
  jpeg: new () => { parse(data: Uint8Array): void; getData(width: number, height: number): ArrayLike<number>; width: number; height: number };
  lossless: new () => { decode(buffer: ArrayBuffer, offset: number, length: number, bytesPerSample: number): { buffer: ArrayBuffer } };
  rle: new () => { decode(data: Uint8Array, bits: number, signed: boolean, sliceSize: number, samples: number, planar: number): ArrayLike<number> };
}
let decoders: DwvDecoders;

beforeAll(async () => {
  const [jpx, jpg, loss, rle] = await Promise.all([
    loadDwvWorkerModule<{ JpxImage: DwvDecoders['jpx'] }>('jpeg2000', ['jpx.js', 'util.js', 'arithmetic_decoder.js'], 'jpx.js'),
    loadDwvWorkerModule<{ JpegImage: DwvDecoders['jpeg'] }>('jpegbaseline', ['jpg.js'], 'jpg.js'),
    loadDwvWorkerModule<{ jpeg: { lossless: { Decoder: DwvDecoders['lossless'] } } }>('jpegloss', ['lossless.js'], 'lossless.js'),
    loadDwvWorkerModule<{ RleDecoder: DwvDecoders['rle'] }>('rle', ['rle.js'], 'rle.js'),
  ]);
  decoders = { jpx: jpx.JpxImage, jpeg: jpg.JpegImage, lossless: loss.jpeg.lossless.Decoder, rle: rle.RleDecoder };
});

/** What dwv's decoder worker for this transfer syntax makes of one frame (cast as its worker casts it). */
function dwvDecode(uid: string, frame: Uint8Array, attrs: ReturnType<typeof readPixelModule>): ArrayLike<number> {
  const signed = attrs.pixelRepresentation === 1;
  const cast = (data: ArrayLike<number> | ArrayBuffer) =>
    attrs.bitsAllocated === 8 ? (signed ? new Int8Array(data as ArrayBuffer) : new Uint8Array(data as ArrayBuffer)) : signed ? new Int16Array(data as ArrayBuffer) : new Uint16Array(data as ArrayBuffer);
  if (/\.4\.9[0-3]$/.test(uid)) {
    const decoder = new decoders.jpx();
    decoder.parse(frame);
    return cast(decoder.tiles[0]!.items);
  }
  if (/\.4\.5[01]$/.test(uid)) {
    const decoder = new decoders.jpeg();
    decoder.parse(frame);
    return cast(decoder.getData(decoder.width, decoder.height));
  }
  if (/\.4\.(57|70)$/.test(uid)) {
    const copy = frame.slice();
    return cast(new decoders.lossless().decode(copy.buffer, 0, copy.byteLength, attrs.bitsAllocated / 8).buffer);
  }
  if (uid === '1.2.840.10008.1.2.5') return new decoders.rle().decode(frame.slice(), attrs.bitsAllocated, signed, attrs.rows * attrs.columns, attrs.samplesPerPixel, attrs.planarConfiguration);
  throw new Error(`dwv has no decoder for ${uid}`);
}

function largestDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Number.POSITIVE_INFINITY;
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}

const withPixels = dicomCorpus().filter((entry) => {
  if (entry.expect_error) return false;
  try {
    return !!parseDicom(new Uint8Array(readFileSync(entry.path)), { stopAtPixelData: false }).pixelData;
  } catch {
    return false;
  }
});

describe('pixelFixes', () => {
  const expected: Record<string, BrowserFix[]> = {
    mr_small_jpegls_lossless: ['decode'],
    mr_nibabel1_jpegls_near_lossless: ['decode'],
    ot_deflate: ['decode'],
    nm_jpeg_extended_12bit: ['decode'],
    nm_jpeg_lossy_12bit_gdcm_warns: ['decode'],
    sc_rgb_jpeg_baseline_no_transform: ['decode'],
    // dwv's JPEG 2000 decoder: signed samples off by one, and only the first tile.
    mr_small_j2k_lossless: ['decode'],
    nm_j2k_lossy: ['decode'],
    sc_ybr_rct_j2k_lossless_jp2header: ['decode'],
    rtdose_multiframe_32bit: ['int32'],
    rtdose_rle_multiframe_32bit: ['int32'],
    sc_rgb_odd_3x3: ['odd-colour'],
    seg_liver_1bit: ['segmentation'],
  };

  it.each(withPixels.map((e) => [e.id, e.path] as const))('%s', (id, file) => {
    expect(pixelFixes(parseDicom(new Uint8Array(readFileSync(file)), { stopAtPixelData: false }))).toEqual(expected[id] ?? []);
  });
});

describe("dwv's own decoders on what the server sends", () => {
  const encapsulated = withPixels.map((e) => [e.id, e.path] as const);

  it.each(encapsulated)('%s: every compressed frame dwv decodes comes out as ours (lossy JPEG within 2)', async (id, file) => {
    const copy = (await encodeForBrowser(new Uint8Array(readFileSync(file)))).bytes;
    const dataset = parseDicom(copy, { stopAtPixelData: false });
    if (!dataset.transferSyntax.encapsulated) return; // native: see transcode.test.ts
    const uid = dataset.transferSyntax.uid;
    const attrs = readPixelModule(dataset);
    const tolerance = /\.4\.5[01]$/.test(uid) ? 2 : 0;
    for (let i = 0; i < attrs.numberOfFrames; i++) {
      const ours = (await decodeFrame(dataset, i)).data;
      expect(largestDifference(dwvDecode(uid, encapsulatedFrameBytes(dataset, attrs.numberOfFrames, i), attrs), ours), `${id} frame ${i + 1}`).toBeLessThanOrEqual(tolerance);
    }
  });

  it("gets signed JPEG 2000 wrong and keeps one tile of several: those are decoded on the server", async () => {
    for (const id of ['mr_small_j2k_lossless', 'nm_j2k_lossy']) {
      const dataset = parseFixture(id);
      const attrs = readPixelModule(dataset);
      const wrong = largestDifference(dwvDecode(dataset.transferSyntax.uid, encapsulatedFrameBytes(dataset, 1, 0), attrs), (await decodeFrame(dataset, 0)).data);
      expect(wrong, id).toBeGreaterThan(0);
    }
    const jp2 = parseFixture('sc_ybr_rct_j2k_lossless_jp2header');
    const frame = encapsulatedFrameBytes(jp2, 1, 0);
    expect(() => dwvDecode(jp2.transferSyntax.uid, frame, readPixelModule(jp2))).toThrow(/Invalid box field size/);
    // Unwrapped, the codestream decodes, but dwv's worker only hands on the first of its tiles.
    expect(dwvDecode(jp2.transferSyntax.uid, unwrapJp2(frame), readPixelModule(jp2)).length).toBeLessThan(400 * 400 * 3);

    const copy = await encodeForBrowser(readFixture('sc_ybr_rct_j2k_lossless_jp2header'));
    expect(copy).toMatchObject({ change: 'transcoded', fixes: ['decode'], transferSyntaxUid: '1.2.840.10008.1.2.1' });
    expect(flat(await frames(copy.bytes))).toEqual(flat(await frames(readFixture('sc_ybr_rct_j2k_lossless_jp2header'))));
    expect(getString(parseDicom(copy.bytes, { stopAtPixelData: false }), Tags.PhotometricInterpretation)).toBe('RGB');
  });
});

/** A JP2 file (signature, file type, header, codestream boxes) around a raw codestream, odd in length. */
function jp2File(codestream: Uint8Array, rows: number, columns: number): Uint8Array {
  const box = (type: string, body: Uint8Array) => {
    const out = new Uint8Array(8 + body.length);
    new DataView(out.buffer).setUint32(0, out.length);
    out.set(new TextEncoder().encode(type), 4);
    out.set(body, 8);
    return out;
  };
  const ihdr = new Uint8Array(14);
  new DataView(ihdr.buffer).setUint32(0, rows);
  new DataView(ihdr.buffer).setUint32(4, columns);
  ihdr.set([0, 1, 15, 7, 0, 0], 8);
  const colr = new Uint8Array([1, 0, 0, 0, 0, 0, 17]);
  const parts = [box('jP  ', new Uint8Array([0x0d, 0x0a, 0x87, 0x0a])), box('ftyp', new TextEncoder().encode('jp2 \0\0\0\0jp2 ')), box('jp2h', new Uint8Array([...box('ihdr', ihdr), ...box('colr', colr)])), box('jp2c', codestream)];
  // An odd length, so that the fragment carries the padding byte real files have.
  if (parts.reduce((sum, p) => sum + p.length, 0) % 2 === 0) parts.splice(3, 0, box('free', new Uint8Array(1)));
  return concat(parts);
}

describe('copies', () => {
  it('rewrites a file whose elements are stored as UN even when its pixels need nothing', async () => {
    const original = buildImage({
      rows: 2,
      columns: 2,
      pixels: sampleBytes([1, 2, 3, 4], 2),
      extra: [[0x00280030, element(0x00280030, 'UN', new TextEncoder().encode('0.5\\0.5 '))]],
    });
    expect(dwvElements(original)['00280030']?.value).toBeInstanceOf(Uint8Array);
    const copy = await encodeForBrowser(original);
    expect(copy).toMatchObject({ change: 'rewritten', fixes: ['un-vr'] });
    expect(dwvElements(copy.bytes)['00280030']?.value).toEqual(['0.5', '0.5']);
    expect(flat(await frames(copy.bytes))).toEqual([1, 2, 3, 4]);
  });

  it.each(withPixels.map((e) => [e.id, e.path] as const))('%s: every top-level element with a known VR is written with it, not as UN', async (_id, file) => {
    const copy = await encodeForBrowser(new Uint8Array(readFileSync(file)));
    if (copy.change === 'none' || copy.change === 'header') return;
    const dataset = parseDicom(copy.bytes, { stopAtPixelData: false });
    for (const el of dataset.elements.values()) {
      const stored = String.fromCharCode(dataset.datasetBytes[el.offset + 4]!, dataset.datasetBytes[el.offset + 5]!);
      if (dataset.explicitVr && el.vr !== 'UN' && el.vr !== 'SQ') expect(stored, el.tag.toString(16)).toBe(el.vr);
    }
  });
});

describe('fixes', () => {
  it('unwraps JPEG 2000 frames from a JP2 file, still compressed, when dwv decodes the codestream itself', async () => {
    // mr_siemens_j2k_lossless (unsigned, one tile) with its codestream put inside JP2 boxes.
    const source = parseFixture('mr_siemens_j2k_lossless');
    const attrs = readPixelModule(source);
    const codestream = encapsulatedFrameBytes(source, 1, 0);
    const wrapped = rewriteDataset(readFixture('mr_siemens_j2k_lossless'), source, source.transferSyntax.uid, new Map([[Tags.PixelData, encapsulatedPixelData([jp2File(codestream, attrs.rows, attrs.columns)])]]));
    const wrappedFrame = encapsulatedFrameBytes(parseDicom(wrapped, { stopAtPixelData: false }), 1, 0);
    expect(() => dwvDecode(source.transferSyntax.uid, wrappedFrame, attrs)).toThrow(/Invalid box field size/);

    const copy = await encodeForBrowser(wrapped);
    expect(copy).toMatchObject({ change: 'rewritten', fixes: ['jp2-wrapper'], transferSyntaxUid: source.transferSyntax.uid });
    const dataset = parseDicom(copy.bytes, { stopAtPixelData: false });
    const frame = encapsulatedFrameBytes(dataset, 1, 0);
    expect(Array.from(frame.subarray(0, 4))).toEqual([0xff, 0x4f, 0xff, 0x51]);
    const ours = (await decodeFrame(source, 0)).data;
    expect(Array.from(dwvDecode(source.transferSyntax.uid, frame, attrs))).toEqual(Array.from(ours));
    expect(flat(await frames(copy.bytes))).toEqual(Array.from(ours));
  });

  it.each(['rtdose_multiframe_32bit', 'rtdose_rle_multiframe_32bit'])('%s: 32-bit dose integers as 16 bits, exactly, with the dose scaling in the rescale', async (id) => {
    const original = readFixture(id);
    const source = parseFixture(id);
    const scaling = getNumber(source, 0x3004000e)!;
    const copy = await encodeForBrowser(original);
    expect(copy).toMatchObject({ change: 'transcoded', fixes: source.explicitVr ? ['int32', 'un-vr'] : ['int32'] });
    // Implicit VR stays implicit; the RLE one becomes explicit VR little endian.
    expect(copy.transferSyntaxUid).toBe(source.explicitVr ? '1.2.840.10008.1.2.1' : '1.2.840.10008.1.2');
    const dataset = parseDicom(copy.bytes, { stopAtPixelData: false });
    expect(readPixelModule(dataset)).toMatchObject({ bitsAllocated: 16, bitsStored: 16, pixelRepresentation: 0, numberOfFrames: 15 });
    expect(dataset.elements.has(0x3004000e)).toBe(false);
    expect(dataset.elements.has(0x00282110)).toBe(false);
    expect(getString(dataset, 0x00281054)).toBe(getString(source, 0x30040002));
    const slope = getNumber(dataset, Tags.RescaleSlope)!;
    const intercept = getNumber(dataset, Tags.RescaleIntercept)!;
    const before = flat(await frames(original));
    const after = flat(await frames(copy.bytes));
    expect(after).toHaveLength(before.length);
    // Stored values come back exactly; doses agree to the precision of a DS.
    after.forEach((stored, i) => {
      expect(Math.round((stored * slope + intercept) / scaling)).toBe(before[i]);
      expect(stored * slope + intercept).toBeCloseTo(before[i]! * scaling, 12);
    });
    // dwv reads it as 16-bit integers and applies the rescale; the SOP Class UID that the RLE file
    // stores as UN comes out as text.
    expect(dwvElements(copy.bytes)['00080016']?.value).toEqual(['1.2.840.10008.5.1.4.1.1.481.2']);
    const image = dwvImage(copy.bytes);
    expect(Array.from(image.getBuffer())).toEqual(after);
    expect(image.getRescaledValueAtOffset(7)).toBeCloseTo(before[7]! * scaling, 9);
    // Doses span 0.46 Gy: with a LINEAR window (width at least 1) dwv would draw every frame white.
    expect(getString(dataset, 0x00281056)).toBe('LINEAR_EXACT');
    expect(dwvGreyLevels(copy.bytes, 0)).toBeGreaterThan(20);
  });

  it('narrows signed 32-bit values wider than 16 bits with the smallest step that fits, marked lossy', async () => {
    const values = Array.from({ length: 36 }, (_, i) => (i === 0 ? -100_000 : i === 35 ? 150_001 : -100_000 + i * 7_001 + (i % 3)));
    const original = buildImage({
      rows: 6,
      columns: 6,
      bitsAllocated: 32,
      pixelRepresentation: 1,
      pixels: sampleBytes(values, 4),
      extra: [
        [Tags.RescaleIntercept, str(Tags.RescaleIntercept, 'DS', '-5', EXPLICIT_LE)],
        [Tags.RescaleSlope, str(Tags.RescaleSlope, 'DS', '0.5', EXPLICIT_LE)],
      ],
    });
    const copy = await encodeForBrowser(original);
    expect(copy.fixes).toEqual(['int32']);
    const dataset = parseDicom(copy.bytes, { stopAtPixelData: false });
    expect(getString(dataset, 0x00282110)).toBe('01');
    const step = Math.ceil(250_001 / 0xffff);
    expect(getNumber(dataset, Tags.RescaleSlope)).toBe(0.5 * step);
    expect(getNumber(dataset, Tags.RescaleIntercept)).toBe(-5 + 0.5 * -100_000);
    const after = flat(await frames(copy.bytes));
    after.forEach((stored, i) => expect(Math.abs(stored * 0.5 * step + (-5 - 50_000) - (values[i]! * 0.5 - 5))).toBeLessThanOrEqual((0.5 * step) / 2));
  });

  it('sc_rgb_odd_3x3: 27 bytes of 8-bit RGB padded to 28, which dwv cuts to 9; as 16-bit samples dwv reads all 27', async () => {
    const original = readFixture('sc_rgb_odd_3x3');
    expect(dwvImage(original).getBuffer().length).toBe(9);
    const copy = await encodeForBrowser(original);
    expect(copy).toMatchObject({ change: 'transcoded', fixes: ['odd-colour'] });
    const dataset = parseDicom(copy.bytes, { stopAtPixelData: false });
    expect(readPixelModule(dataset)).toMatchObject({ bitsAllocated: 16, bitsStored: 8, samplesPerPixel: 3, photometricInterpretation: 'RGB' });
    const ours = flat(await frames(original));
    expect(ours).toHaveLength(27);
    expect(flat(await frames(copy.bytes))).toEqual(ours);
    expect(Array.from(dwvImage(copy.bytes).getBuffer())).toEqual(ours);
  });

  it('seg_liver_1bit: a segmentation opened on its own is its frames as an 8-bit image of 0 and 1', async () => {
    const original = readFixture('seg_liver_1bit');
    const copy = await encodeForBrowser(original);
    expect(copy).toMatchObject({ change: 'transcoded', fixes: ['segmentation'] });
    const dataset = parseDicom(copy.bytes, { stopAtPixelData: false });
    expect(getString(dataset, Tags.Modality)).toBe('OT');
    expect(getString(dataset, Tags.SopClassUid)).toBe(getString(parseFixture('seg_liver_1bit'), Tags.SopClassUid));
    expect(readPixelModule(dataset)).toMatchObject({ bitsAllocated: 8, bitsStored: 8, numberOfFrames: 1 });
    expect([getNumber(dataset, Tags.WindowCenter), getNumber(dataset, Tags.WindowWidth)]).toEqual([0.5, 1]);
    const ours = flat(await frames(original));
    expect(new Set(ours)).toEqual(new Set([0, 1]));
    expect(flat(await frames(copy.bytes))).toEqual(ours);
    const image = dwvImage(copy.bytes);
    expect(image.getMeta().Modality).toBe('OT');
    expect(Array.from(image.getBuffer())).toEqual(ours);
  });

  it('mr_decimal_rescale: the UIDs the catalogue gave a file without any are written into its copy', async () => {
    const original = readFixture('mr_decimal_rescale');
    const uids = { studyInstanceUid: '2.25.1', seriesInstanceUid: '2.25.2', sopInstanceUid: '2.25.3' };
    expect(await encodeForBrowser(original)).toMatchObject({ change: 'none', fixes: [] });
    const copy = await encodeForBrowser(original, undefined, { uids });
    expect(copy).toMatchObject({ change: 'rewritten', fixes: ['uids'], transferSyntaxUid: '1.2.840.10008.1.2.1' });
    const dataset = parseDicom(copy.bytes, { stopAtPixelData: false });
    expect([getString(dataset, Tags.StudyInstanceUid), getString(dataset, Tags.SeriesInstanceUid), getString(dataset, Tags.SopInstanceUid)]).toEqual(['2.25.1', '2.25.2', '2.25.3']);
    expect(getString(dataset.meta!, 0x00020003)).toBe('2.25.3');
    const elements = dwvElements(copy.bytes);
    expect(elements['00080018']?.value).toEqual(['2.25.3']);
    expect(flat(await frames(copy.bytes))).toEqual(flat(await frames(original)));
    const rows = (bytes: Uint8Array) => listElements(parseDicom(bytes, { stopAtPixelData: false })).filter((r) => !r.meta && !['00080018', '0020000D', '0020000E'].includes(r.path[0]!));
    expect(rows(copy.bytes).map((r) => [r.path, r.value])).toEqual(rows(original).map((r) => [r.path, r.value]));
    // A file that has its UIDs keeps them, whatever the catalogue says.
    expect((await encodeForBrowser(readFixture('ct_small_explicit_le'), undefined, { uids })).change).toBe('none');
  });
});
