import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DicomParseError, type DicomErrorCode, type DicomMetadata, parseDicom, readDicomMetadata, sniffDicom } from './index';

interface FixtureEntry {
  id: string;
  file: string;
  size: number;
  categories: string[];
  expect_error: boolean;
  head_bytes?: number;
  reference: {
    preamble?: boolean;
    has_file_meta?: boolean;
    has_pixel_data?: boolean;
    tags: Record<string, unknown> & { functional_groups?: Record<string, number> };
  };
}

const fixtures = path.join(import.meta.dirname, '__fixtures__');
const manifest = JSON.parse(readFileSync(path.join(fixtures, 'manifest.json'), 'utf8')) as { files: FixtureEntry[]; prefix_fixtures: FixtureEntry[] };
const read = (entry: FixtureEntry) => new Uint8Array(readFileSync(path.join(fixtures, entry.file)));

const good = manifest.files.filter((entry) => !entry.expect_error);
const broken = manifest.files.filter((entry) => entry.expect_error);

/**
 * How each manifest tag (as pydicom 2.3.1 parsed it) maps onto DicomMetadata. null in the manifest
 * means absent, and the metadata value must then be null too. pydicom gives a multi-valued DS as a
 * list and a single one as a number, and Specific Character Set as a string or a list; the
 * metadata always has lists for these, so single values are wrapped.
 */
const TAG_MAP: Array<[string, keyof DicomMetadata, 'value' | 'list']> = [
  ['PatientName', 'patientName', 'value'],
  ['PatientID', 'patientId', 'value'],
  ['StudyInstanceUID', 'studyInstanceUid', 'value'],
  ['SeriesInstanceUID', 'seriesInstanceUid', 'value'],
  ['SOPInstanceUID', 'sopInstanceUid', 'value'],
  ['SOPClassUID', 'sopClassUid', 'value'],
  ['Modality', 'modality', 'value'],
  ['StudyDate', 'studyDate', 'value'],
  ['SpecificCharacterSet', 'specificCharacterSet', 'list'],
  ['Rows', 'rows', 'value'],
  ['Columns', 'columns', 'value'],
  ['NumberOfFrames', 'numberOfFrames', 'value'],
  ['SamplesPerPixel', 'samplesPerPixel', 'value'],
  ['PhotometricInterpretation', 'photometricInterpretation', 'value'],
  ['BitsAllocated', 'bitsAllocated', 'value'],
  ['BitsStored', 'bitsStored', 'value'],
  ['HighBit', 'highBit', 'value'],
  ['PixelRepresentation', 'pixelRepresentation', 'value'],
  ['PlanarConfiguration', 'planarConfiguration', 'value'],
  ['WindowCenter', 'windowCenter', 'list'],
  ['WindowWidth', 'windowWidth', 'list'],
  ['RescaleSlope', 'rescaleSlope', 'value'],
  ['RescaleIntercept', 'rescaleIntercept', 'value'],
  ['PixelSpacing', 'pixelSpacing', 'value'],
  ['SliceThickness', 'sliceThickness', 'value'],
  ['TransferSyntaxUID', 'transferSyntaxUid', 'value'],
];

/** Attributes that enhanced multi-frame objects carry in functional groups instead of the top level. */
const FRAME_ATTRIBUTES = new Set(['WindowCenter', 'WindowWidth', 'RescaleSlope', 'RescaleIntercept', 'PixelSpacing', 'SliceThickness']);

function expectedValue(tag: string, kind: 'value' | 'list', value: unknown): unknown {
  if (value === null || value === undefined) return null;
  return kind === 'list' && !Array.isArray(value) ? [value] : value;
}

function checkTags(entry: FixtureEntry, metadata: DicomMetadata): void {
  const { tags } = entry.reference;
  const groups = tags.functional_groups ?? {};
  const enhanced = entry.categories.includes('enhanced-multiframe');
  for (const [tag, key, kind] of TAG_MAP) {
    const actual = metadata[key];
    let expected = expectedValue(tag, kind, tags[tag]);
    if (expected === null && enhanced && FRAME_ATTRIBUTES.has(tag)) {
      // pydicom reports the top level only; the metadata falls back to the first frame's
      // functional groups, whose values the manifest lists for window and rescale.
      if (tag in groups) expected = expectedValue(tag, kind, groups[tag]);
      else if (actual !== null) {
        expect(metadata.frameAttributesFrom, `${entry.id} ${tag}`).toBe('functional-groups');
        continue;
      }
    }
    expect(actual, `${entry.id} ${tag}`).toEqual(expected);
  }
}

describe('corpus fixtures', () => {
  it('has the fixtures the manifest lists, and a known expectation for every broken one', () => {
    expect(good.length).toBeGreaterThan(45);
    for (const entry of [...manifest.files, ...manifest.prefix_fixtures]) expect(read(entry).length).toBe(entry.head_bytes ?? entry.size);
    expect(broken.map((entry) => entry.id).sort()).toEqual(Object.keys(BROKEN).sort());
  });

  describe.each(good.map((entry) => [entry.id, entry] as const))('%s', (_id, entry) => {
    const bytes = read(entry);

    it('reads the metadata pydicom read', () => {
      const metadata = readDicomMetadata(bytes);
      checkTags(entry, metadata);
      expect(metadata.hasPixelData).toBe(entry.reference.has_pixel_data);
      expect(metadata.preamble).toBe(entry.reference.preamble);
      expect(metadata.hasFileMeta).toBe(entry.reference.has_file_meta);
      // The metadata is stored as JSON: it must survive a round trip unchanged.
      expect(JSON.parse(JSON.stringify(metadata))).toEqual(metadata);
    });

    it('parses the whole file past the pixel data to the same metadata', () => {
      const full = parseDicom(bytes, { stopAtPixelData: false });
      const stopped = parseDicom(bytes);
      expect(full.stoppedAtPixelData).toBe(false);
      expect(stopped.stoppedAtPixelData).toBe(entry.reference.has_pixel_data);
      expect(full.pixelData).toEqual(stopped.pixelData);
      expect(readDicomMetadata(bytes, { stopAtPixelData: false })).toEqual(readDicomMetadata(bytes));
      if (full.pixelData) {
        expect(full.pixelData.complete).toBe(true);
        if (full.pixelData.encapsulated) expect(full.pixelData.fragments?.length).toBeGreaterThan(0);
        else expect((full.pixelData.length ?? 0) + full.pixelData.offset).toBeLessThanOrEqual(full.datasetBytes.length);
      }
    });

    it('is recognised by sniffDicom from its first bytes', () => {
      expect(sniffDicom(bytes.subarray(0, 256))).toEqual({ dicom: true, preamble: entry.reference.preamble });
    });
  });
});

/**
 * What each broken corpus file must do. Files whose DICOM structure is intact parse (pydicom
 * reads them too); the rest fail with the code that says what is wrong.
 */
const BROKEN: Record<string, { code: DicomErrorCode; why: string } | { parses: true; why: string }> = {
  broken_bad_vr: { parses: true, why: 'the structure is valid; only NumberOfFrames holds "1A", which is not an IS, so numberOfFrames is null' },
  broken_ct_ankle_truncated_60pct: { code: 'truncated', why: 'Pixel Data declares 524288 bytes but the file ends 60% of the way in' },
  broken_empty_file: { code: 'empty_file', why: 'zero bytes' },
  broken_header_only_1000_bytes: { code: 'truncated', why: 'the file ends inside the header, in (0008,1140)' },
  broken_j2k_corrupt_codestream: { parses: true, why: 'item lengths are intact; only bytes inside the JPEG 2000 codestream are damaged, which is the decoder’s concern' },
  broken_meta_missing_transfer_syntax: { code: 'missing_transfer_syntax', why: 'the file meta group has no (0002,0010)' },
  broken_mr_truncated_pixeldata: { code: 'truncated', why: 'Pixel Data declares 8192 bytes but fewer remain' },
  broken_not_dicom_text: { code: 'not_dicom', why: 'a Philips PAR text header' },
  broken_us_palette_rle_truncated: { code: 'truncated', why: 'cut inside the RLE fragments; all bytes are given, so the fragment walk sees an item running past the end' },
};

describe('broken corpus fixtures', () => {
  it.each(broken.map((entry) => [entry.id, entry] as const))('%s', (id, entry) => {
    const expectation = BROKEN[id];
    const bytes = read(entry);
    if (!expectation) throw new Error(`no expectation for ${id}`);
    if ('parses' in expectation) {
      const metadata = readDicomMetadata(bytes);
      expect(metadata.sopInstanceUid).toBe(entry.reference.tags.SOPInstanceUID);
      expect(metadata.patientName).toBe(entry.reference.tags.PatientName);
      return;
    }
    let caught: unknown;
    try {
      readDicomMetadata(bytes);
    } catch (error) {
      caught = error;
    }
    expect(caught, expectation.why).toBeInstanceOf(DicomParseError);
    expect((caught as DicomParseError).code, expectation.why).toBe(expectation.code);
  });

  it('reads NumberOfFrames "1A" as no number rather than failing', () => {
    const entry = broken.find((e) => e.id === 'broken_bad_vr') as FixtureEntry;
    expect(readDicomMetadata(read(entry)).numberOfFrames).toBeNull();
  });

  it('says header_too_large, not truncated, when the cut-off file is only a prefix of a longer one', () => {
    const entry = broken.find((e) => e.id === 'broken_header_only_1000_bytes') as FixtureEntry;
    expect(() => parseDicom(read(entry), { fileSize: 383968 })).toThrow(expect.objectContaining({ code: 'header_too_large' }));
  });

  it('is recognised as DICOM by sniffDicom unless empty or text', () => {
    for (const entry of broken) {
      const dicom = !['broken_empty_file', 'broken_not_dicom_text'].includes(entry.id);
      expect(sniffDicom(read(entry)).dicom, entry.id).toBe(dicom);
    }
  });
});

describe('prefix fixtures', () => {
  it.each(manifest.prefix_fixtures.map((entry) => [entry.id, entry] as const))('%s reads from its stored head with fileSize', (_id, entry) => {
    const bytes = read(entry);
    expect(sniffDicom(bytes)).toEqual({ dicom: true, preamble: entry.reference.preamble });
    const metadata = readDicomMetadata(bytes, { fileSize: entry.size });
    checkTags(entry, metadata);
    expect(metadata.pixelData?.length).toBe(entry.size - (metadata.pixelData?.offset ?? 0));
    // Without fileSize the head is the whole file, whose pixel data is then cut short.
    expect(() => readDicomMetadata(bytes)).toThrow(expect.objectContaining({ code: 'truncated' }));
    // Its 95 KB header does not fit in 4 KB: the caller must retry with more.
    expect(() => readDicomMetadata(bytes.subarray(0, 4096), { fileSize: entry.size })).toThrow(expect.objectContaining({ code: 'header_too_large' }));
  });
});
