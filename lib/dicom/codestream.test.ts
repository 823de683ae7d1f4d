import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { dicomCorpus } from '@/lib/testing/corpus';
import { CodestreamError, codestreamFamily, readCodestreamHeader } from './codestream';
import { getEncapsulatedFrames, getFragmentBytes } from './dataset';
import { readDicomMetadata } from './index';
import { parseDicom } from './parser';

const encapsulated = dicomCorpus().filter((e) => !e.expect_error && codestreamFamily(e.reference.tags?.TransferSyntaxUID as string));

describe('readCodestreamHeader', () => {
  it('covers every compressed family in the corpus', () => {
    const families = new Set(encapsulated.map((e) => codestreamFamily(e.reference.tags?.TransferSyntaxUID as string)));
    expect([...families].sort()).toEqual(['jpeg', 'jpeg2000', 'rle']);
  });

  for (const entry of encapsulated) {
    it(`agrees with the DICOM header of ${entry.id} for every frame`, () => {
      const bytes = readFileSync(entry.path);
      const dataset = parseDicom(bytes, { stopAtPixelData: false });
      const meta = readDicomMetadata(bytes);
      const family = codestreamFamily(meta.transferSyntaxUid)!;
      const frames = getEncapsulatedFrames(dataset, meta.numberOfFrames ?? 1)!;
      expect(frames.length).toBe(meta.numberOfFrames ?? 1);
      for (const frame of frames) {
        const header = readCodestreamHeader(getFragmentBytes(dataset, frame[0]!)!, family);
        if (family === 'rle') {
          expect(header.segments).toBe((meta.samplesPerPixel ?? 1) * Math.ceil((meta.bitsAllocated ?? 8) / 8));
        } else {
          expect([header.columns, header.rows, header.components]).toEqual([meta.columns, meta.rows, meta.samplesPerPixel]);
        }
      }
    });
  }

  it('reports damage in the JPEG 2000 header of the corrupt corpus file', () => {
    const entry = dicomCorpus().find((e) => e.id === 'broken_j2k_corrupt_codestream')!;
    const bytes = readFileSync(entry.path);
    const dataset = parseDicom(bytes, { stopAtPixelData: false });
    const fragment = getFragmentBytes(dataset, dataset.pixelData!.fragments![0]!)!;
    let header;
    try {
      header = readCodestreamHeader(fragment, 'jpeg2000');
    } catch (error) {
      expect(error).toBeInstanceOf(CodestreamError);
      return;
    }
    expect([header.columns, header.rows]).not.toEqual([entry.reference.tags?.Columns, entry.reference.tags?.Rows]);
  });

  it('throws CodestreamError, never anything else, on damaged or cut frames', () => {
    const samples = [new Uint8Array(), new Uint8Array([0xff]), new Uint8Array([0xff, 0xd8, 0xff, 0xc0, 0x00]), new Uint8Array([0xff, 0x4f, 0xff, 0x51, 0, 41])];
    for (const family of ['jpeg', 'jpeg2000', 'rle'] as const) {
      for (const bytes of samples) expect(() => readCodestreamHeader(bytes, family)).toThrow(CodestreamError);
    }
    const rle = new Uint8Array(64);
    rle[0] = 2;
    rle[4] = 64;
    rle[8] = 32; // second segment before the first
    expect(() => readCodestreamHeader(rle, 'rle')).toThrow(/out of order/);
  });

  it('finds the codestream inside a JP2 wrapper', () => {
    const entry = dicomCorpus().find((e) => e.id === 'sc_ybr_rct_j2k_lossless_jp2header')!;
    const bytes = readFileSync(entry.path);
    const dataset = parseDicom(bytes, { stopAtPixelData: false });
    const header = readCodestreamHeader(getFragmentBytes(dataset, dataset.pixelData!.fragments![0]!)!, 'jpeg2000');
    expect([header.columns, header.rows, header.components]).toEqual([entry.reference.tags?.Columns, entry.reference.tags?.Rows, 3]);
  });
});
