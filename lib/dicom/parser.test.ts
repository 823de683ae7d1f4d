import { readFileSync } from 'node:fs';
import path from 'node:path';
import { deflateRawSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  EXPLICIT_BE,
  EXPLICIT_LE,
  IMPLICIT_LE,
  UNDEFINED,
  ascii,
  concat,
  element,
  encapsulatedPixelData,
  fileMeta,
  identity,
  item,
  numbers,
  random,
  sequence,
  str,
  tagBytes,
  us,
} from './__fixtures__/builder';
import {
  DicomParseError,
  Tags,
  getElement,
  getElementBytes,
  getEncapsulatedFrames,
  getFragmentBytes,
  getItems,
  getNumber,
  getNumbers,
  getString,
  getStrings,
  listElements,
  parseDicom,
  readDicomMetadata,
  sniffDicom,
  type DicomDataset,
  type DicomErrorCode,
  type ParseOptions,
} from './index';

const fixture = (name: string) => new Uint8Array(readFileSync(path.join(import.meta.dirname, '__fixtures__', name)));

const EXPLICIT = '1.2.840.10008.1.2.1';
const IMPLICIT = '1.2.840.10008.1.2';
const DEFLATE = '1.2.840.10008.1.2.1.99';
const JPEG_BASELINE = '1.2.840.10008.1.2.4.50';

function parseError(bytes: Uint8Array, options?: ParseOptions): DicomParseError {
  try {
    parseDicom(bytes, options);
  } catch (error) {
    if (error instanceof DicomParseError) return error;
    throw new Error(`expected a DicomParseError, got ${String(error)}`);
  }
  throw new Error('expected parsing to fail');
}

function expectCode(bytes: Uint8Array, code: DicomErrorCode, options?: ParseOptions): DicomParseError {
  const error = parseError(bytes, options);
  expect(error.code, error.message).toBe(code);
  return error;
}

const image = (encoding = EXPLICIT_LE) =>
  concat(
    us(Tags.SamplesPerPixel, 1, encoding),
    str(Tags.PhotometricInterpretation, 'CS', 'MONOCHROME2', encoding),
    us(Tags.Rows, 2, encoding),
    us(Tags.Columns, 2, encoding),
    us(Tags.BitsAllocated, 16, encoding),
    us(Tags.BitsStored, 16, encoding),
    us(Tags.HighBit, 15, encoding),
  );

describe('sniffDicom', () => {
  it('recognises a preamble with DICM, and preamble-less datasets in each encoding', () => {
    expect(sniffDicom(fileMeta(EXPLICIT))).toEqual({ dicom: true, preamble: true });
    expect(sniffDicom(fileMeta(EXPLICIT).subarray(132))).toEqual({ dicom: true, preamble: false });
    expect(sniffDicom(identity(EXPLICIT_LE))).toEqual({ dicom: true, preamble: false });
    expect(sniffDicom(identity(IMPLICIT_LE))).toEqual({ dicom: true, preamble: false });
    expect(sniffDicom(identity(EXPLICIT_BE))).toEqual({ dicom: true, preamble: false });
  });

  it('rejects other formats', () => {
    const nifti1 = new Uint8Array(352);
    new DataView(nifti1.buffer).setInt32(0, 348, true);
    nifti1.set(ascii('n+1\0'), 344);
    const nifti1Be = new Uint8Array(352);
    new DataView(nifti1Be.buffer).setInt32(0, 348, false);
    const nifti2 = new Uint8Array(544);
    new DataView(nifti2.buffer).setInt32(0, 540, true);
    nifti2.set(ascii('n+2\0\r\n\x1a\n'), 4);
    const samples: Record<string, Uint8Array> = {
      empty: new Uint8Array(0),
      text: new TextEncoder().encode('# === DATA DESCRIPTION FILE ======================================================\n'.repeat(4)),
      json: new TextEncoder().encode('{"PatientName": "x"}'),
      gzip: Uint8Array.from([0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0, 3, ...new Array(200).fill(0)]),
      zip: concat(ascii('PK\x03\x04'), new Uint8Array(200)),
      png: concat(Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), new Uint8Array(200)),
      nifti1,
      nifti1Be,
      nifti2,
      zeros: new Uint8Array(1024),
      dicmTooEarly: concat(new Uint8Array(100), ascii('DICM'), new Uint8Array(100)),
      implicitOutOfOrder: concat(identity(IMPLICIT_LE).subarray(0, 36), tagBytes(0x00080001, true), new Uint8Array(8)),
    };
    for (const [name, bytes] of Object.entries(samples)) expect(sniffDicom(bytes).dicom, name).toBe(false);
  });
});

describe('parseDicom: encodings and values', () => {
  it('reads explicit VR little endian with every long-length VR, multi-values, numbers and tags', () => {
    const le = true;
    const bytes = concat(
      fileMeta(EXPLICIT),
      str(0x00080008, 'CS', 'ORIGINAL\\PRIMARY\\AXIAL'),
      str(0x00080016, 'UI', '1.2.840.10008.5.1.4.1.1.7'),
      str(0x00080018, 'UI', '1.2.3.4 '),
      str(Tags.PatientName, 'PN', 'Doe^Jane'),
      element(0x00181310, 'US', numbers('US', [0, 256, 256, 0], le)),
      element(0x00189089, 'FD', numbers('FD', [0.5, -1], le)),
      element(0x00200020, 'CS', ascii('L\\P ')),
      str(0x00200032, 'DS', ' -1.5\\2e3\\.25'),
      element(0x00209165, 'AT', concat(tagBytes(0x00100010, le), tagBytes(0x7fe00010, le))),
      element(0x00281041, 'SS', numbers('SS', [-1], le)),
      str(0x00291010, 'LO', 'PRIVATE CREATOR'),
      element(0x00291011, 'OB', Uint8Array.from([1, 2, 3, 4])),
      element(0x00291012, 'OD', numbers('FD', [1.5], le)),
      element(0x00291013, 'OF', numbers('FL', [2.5], le)),
      element(0x00291014, 'OL', numbers('UL', [7], le)),
      element(0x00291015, 'OV', new Uint8Array(8)),
      element(0x00291016, 'SV', Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])),
      element(0x00291017, 'UV', Uint8Array.from([1, 0, 0, 0, 0, 0, 0, 0x80])),
      str(0x00291018, 'UC', 'unlimited\\characters'),
      str(0x00291019, 'UR', 'http://example.test/a\\b'),
      str(0x0029101a, 'UT', 'line one\\with backslash '),
      element(0x0029101b, 'UN', Uint8Array.from([9, 9])),
      str(0x00324000, 'LT', 'trailing NUL\0'),
    );
    const dataset = parseDicom(bytes);
    expect(dataset.transferSyntaxUid).toBe(EXPLICIT);
    expect(dataset.hasFileMeta && dataset.preamble && dataset.explicitVr && dataset.littleEndian).toBe(true);
    expect(getStrings(dataset, 0x00080008)).toEqual(['ORIGINAL', 'PRIMARY', 'AXIAL']);
    expect(getString(dataset, Tags.SopInstanceUid)).toBe('1.2.3.4');
    expect(getNumbers(dataset, 0x00181310)).toEqual([0, 256, 256, 0]);
    expect(getNumbers(dataset, 0x00189089)).toEqual([0.5, -1]);
    expect(getStrings(dataset, 0x00200020)).toEqual(['L', 'P']);
    expect(getNumbers(dataset, 0x00200032)).toEqual([-1.5, 2000, 0.25]);
    expect(getElement(dataset, 0x00200032)?.value).toMatchObject({ kind: 'numeric-string', text: ['-1.5', '2e3', '.25'] });
    expect(getElement(dataset, 0x00209165)?.value).toEqual({ kind: 'tag', values: [0x00100010, 0x7fe00010] });
    expect(getNumber(dataset, 0x00281041)).toBe(-1);
    expect(getElement(dataset, 0x00291016)?.value).toEqual({ kind: 'bigint', values: [-1n] });
    expect(getElement(dataset, 0x00291017)?.value).toEqual({ kind: 'bigint', values: [0x8000000000000001n] });
    expect(getStrings(dataset, 0x00291018)).toEqual(['unlimited', 'characters']);
    // UR, UT (and ST, LT) are single-valued: a backslash in them is text.
    expect(getStrings(dataset, 0x00291019)).toEqual(['http://example.test/a\\b']);
    expect(getStrings(dataset, 0x0029101a)).toEqual(['line one\\with backslash']);
    expect(getStrings(dataset, 0x00324000)).toEqual(['trailing NUL']);
    for (const tag of [0x00291011, 0x00291012, 0x00291013, 0x00291014, 0x00291015, 0x0029101b]) {
      expect(getElement(dataset, tag)?.value, tag.toString(16)).toEqual({ kind: 'binary' });
    }
    expect(Array.from(getElementBytes(dataset, getElement(dataset, 0x00291011)!) ?? [])).toEqual([1, 2, 3, 4]);
    expect(getElement(dataset, 0x0029101b)?.vr).toBe('UN');
    expect(dataset.pixelData).toBeNull();
  });

  it('reads nested sequences of defined and undefined length, with items of both kinds', () => {
    const inner = (value: string, undefinedItem: boolean) => item(str(0x00081150, 'UI', value), EXPLICIT_LE, undefinedItem);
    const nested = sequence(0x00081199, [inner('1.1', true), inner('1.2', false)], EXPLICIT_LE, true);
    const bytes = concat(
      fileMeta(EXPLICIT),
      identity(),
      sequence(0x00081140, [item(concat(str(0x00081155, 'UI', '9.9'), nested)), item(new Uint8Array(0), EXPLICIT_LE, true)]),
      sequence(0x00081115, [], EXPLICIT_LE, true),
      sequence(0x00081250, [item(new Uint8Array(0))], EXPLICIT_LE, false),
      str(0x00200013, 'IS', '7'),
    );
    const dataset = parseDicom(bytes);
    const outer = getItems(dataset, 0x00081140);
    expect(outer).toHaveLength(2);
    expect(getString(outer![0]!, 0x00081155)).toBe('9.9');
    const innerItems = getItems(outer![0]!, 0x00081199);
    expect(innerItems?.map((i) => getString(i, 0x00081150))).toEqual(['1.1', '1.2']);
    expect(innerItems?.map((i) => i.length)).toEqual([undefined, 12]);
    expect(outer![1]!.elements.size).toBe(0);
    expect(getItems(dataset, 0x00081115)).toEqual([]);
    expect(getItems(dataset, 0x00081250)).toHaveLength(1);
    expect(getNumber(dataset, Tags.InstanceNumber)).toBe(7);

    const rows = listElements(dataset);
    const referenced = rows.find((row) => row.tag === '00081150' && row.value === '1.2');
    expect(referenced).toMatchObject({ keyword: 'ReferencedSOPClassUID', vr: 'UI', depth: 2, path: ['00081140', '0', '00081199', '1', '00081150'] });
    expect(rows.find((row) => row.tag === '00081140')).toMatchObject({ value: '2 items', depth: 0 });
    expect(rows.filter((row) => row.meta).map((row) => row.keyword)).toContain('TransferSyntaxUID');
  });

  it('reads implicit VR without file meta: dictionary VRs, US|SS by pixel representation, unknown undefined-length as SQ', () => {
    const enc = IMPLICIT_LE;
    const privateSequence = concat(
      tagBytes(0x00091010, true),
      numbers('UL', [UNDEFINED]),
      item(element(0x00100020, '', ascii('IN-SQ '), enc), enc, true),
      tagBytes(0xfffee0dd, true),
      new Uint8Array(4),
    );
    const bytes = concat(
      identity(enc),
      privateSequence,
      us(Tags.PixelRepresentation, 1, enc),
      element(0x00280106, '', numbers('SS', [-5]), enc),
      element(0x00291001, '', Uint8Array.from([1, 2]), enc),
      element(Tags.PixelData, '', new Uint8Array(8), enc),
    );
    const dataset = parseDicom(bytes);
    expect(dataset.hasFileMeta).toBe(false);
    expect(dataset.preamble).toBe(false);
    expect(dataset.transferSyntaxUid).toBeNull();
    expect(dataset.transferSyntax.uid).toBe(IMPLICIT);
    expect(getString(dataset, Tags.PatientName)).toBe('Test^Patient');
    expect(getElement(dataset, Tags.PatientName)?.vr).toBe('PN');
    expect(getElement(dataset, 0x00091010)?.vr).toBe('SQ');
    expect(getString(getItems(dataset, 0x00091010)![0]!, 0x00100020)).toBe('IN-SQ');
    expect(getElement(dataset, 0x00280106)?.vr).toBe('SS');
    expect(getNumber(dataset, 0x00280106)).toBe(-5);
    expect(getElement(dataset, 0x00291001)?.vr).toBe('UN');
    expect(dataset.pixelData).toMatchObject({ vr: 'OW', length: 8, encapsulated: false });
  });

  it('reads explicit VR big endian without file meta', () => {
    const bytes = concat(identity(EXPLICIT_BE), image(EXPLICIT_BE), element(0x00281050, 'DS', ascii('40'), EXPLICIT_BE), element(Tags.PixelData, 'OW', new Uint8Array(8), EXPLICIT_BE));
    const dataset = parseDicom(bytes);
    expect(dataset.littleEndian).toBe(false);
    expect(dataset.transferSyntax.uid).toBe('1.2.840.10008.1.2.2');
    expect(readDicomMetadata(bytes)).toMatchObject({ rows: 2, columns: 2, bitsAllocated: 16, windowCenter: [40], patientId: 'ID-1', transferSyntaxUid: null });
  });

  it('reads an undefined-length UN as an implicit VR little endian sequence, and UN with a known tag by its dictionary VR', () => {
    const implicitItem = item(element(0x00081150, '', ascii('1.2.840.10008.5.1.4.1.1.2\0'), IMPLICIT_LE), IMPLICIT_LE, true);
    const bytes = concat(
      fileMeta(EXPLICIT),
      identity().subarray(0, 0),
      sequence(0x00081140, [implicitItem], EXPLICIT_LE, true, 'UN'),
      element(0x00280010, 'UN', numbers('US', [512])),
    );
    const dataset = parseDicom(bytes);
    expect(getElement(dataset, 0x00081140)?.vr).toBe('SQ');
    expect(getString(getItems(dataset, 0x00081140)![0]!, 0x00081150)).toBe('1.2.840.10008.5.1.4.1.1.2');
    expect(getNumber(dataset, Tags.Rows)).toBe(512);
  });

  it('follows the data when the transfer syntax says explicit VR but the dataset is implicit', () => {
    const bytes = concat(fileMeta(EXPLICIT), identity(IMPLICIT_LE), image(IMPLICIT_LE));
    const dataset = parseDicom(bytes);
    expect(dataset.explicitVr).toBe(false);
    expect(dataset.warnings.join()).toMatch(/implicit VR/);
    expect(getNumber(dataset, Tags.Rows)).toBe(2);
  });

  it('reads a file meta group with no preamble', () => {
    const bytes = concat(fileMeta(IMPLICIT).subarray(132), identity(IMPLICIT_LE));
    const dataset = parseDicom(bytes);
    expect(dataset).toMatchObject({ preamble: false, hasFileMeta: true, transferSyntaxUid: IMPLICIT, explicitVr: false });
    expect(readDicomMetadata(bytes).sopInstanceUid).toBe('1.2.3.4');
  });
});

describe('parseDicom: pixel data', () => {
  const jpegFile = () =>
    concat(
      fileMeta(JPEG_BASELINE),
      identity(),
      image(),
      str(Tags.NumberOfFrames, 'IS', '2'),
      encapsulatedPixelData([Uint8Array.from([0xff, 0xd8, 0xff, 0xe0, 1, 2]), Uint8Array.from([3, 4]), Uint8Array.from([0xff, 0xd8, 0xff, 0xdb, 5, 6])], [0, 30]),
      element(0xfffcfffc, 'OB', new Uint8Array(4)),
    );

  it('records encapsulated fragments and the basic offset table, and groups them into frames', () => {
    const bytes = jpegFile();
    const dataset = parseDicom(bytes);
    const pixelData = dataset.pixelData!;
    expect(pixelData).toMatchObject({ encapsulated: true, complete: true, length: undefined, vr: 'OB', basicOffsetTable: [0, 30] });
    expect(pixelData.fragments?.map((f) => f.length)).toEqual([6, 2, 6]);
    expect(Array.from(getFragmentBytes(dataset, pixelData.fragments![1]!)!)).toEqual([3, 4]);
    expect(pixelData.fragments![0]!.itemOffset).toBe(pixelData.firstFragmentOffset);
    const frames = getEncapsulatedFrames(dataset, 2)!;
    expect(frames.map((frame) => frame.map((f) => f.length))).toEqual([[6, 2], [6]]);
    expect(dataset.stoppedAtPixelData).toBe(true);
    expect(dataset.elements.has(0xfffcfffc)).toBe(false);

    const full = parseDicom(bytes, { stopAtPixelData: false });
    expect(full.elements.has(0xfffcfffc)).toBe(true);
    expect(getElement(full, Tags.PixelData)?.value).toMatchObject({ kind: 'encapsulated' });
  });

  it('groups fragments by JPEG start markers when there is no offset table', () => {
    const bytes = concat(
      fileMeta(JPEG_BASELINE),
      identity(),
      encapsulatedPixelData([Uint8Array.from([0xff, 0xd8, 0xff, 0xe0]), Uint8Array.from([1, 2]), Uint8Array.from([0xff, 0xd8, 0xff, 0xe0]), Uint8Array.from([0xff, 0xd8, 0xff, 0xe0])]),
    );
    const dataset = parseDicom(bytes);
    expect(dataset.pixelData?.basicOffsetTable).toEqual([]);
    expect(getEncapsulatedFrames(dataset, 3)?.map((frame) => frame.length)).toEqual([2, 1, 1]);
    expect(getEncapsulatedFrames(dataset, 1)?.map((frame) => frame.length)).toEqual([4]);
    expect(getEncapsulatedFrames(dataset, 4)?.map((frame) => frame.length)).toEqual([1, 1, 1, 1]);
    expect(getEncapsulatedFrames(dataset, 5)).toBeUndefined();
  });

  it('stops at the pixel data of a large file given only its first 4 KB and the file size', () => {
    const entry = fixture('ct_ankle_implicit.dcm');
    const head = entry.subarray(0, 4096);
    const prefix = parseDicom(head, { fileSize: entry.length });
    expect(prefix.pixelData).toMatchObject({ offset: 1148, length: 524288, encapsulated: false, complete: false });
    expect(readDicomMetadata(head, { fileSize: entry.length })).toEqual(readDicomMetadata(entry));
    expect(getElementBytes(prefix, getElement(prefix, Tags.PixelData)!)).toBeUndefined();
  });

  it('stops at encapsulated pixel data in a prefix without needing the fragments', () => {
    const entry = fixture('us_palette_rle_multiframe.dcm');
    const prefix = parseDicom(entry.subarray(0, 4096), { fileSize: entry.length });
    expect(prefix.pixelData).toMatchObject({ offset: 2428, encapsulated: true, complete: false });
    expect(prefix.pixelData?.fragments).toBeUndefined();
    expect(prefix.pixelData?.basicOffsetTable).toHaveLength(10);
    const whole = parseDicom(entry);
    expect(whole.pixelData?.fragments).toHaveLength(10);
    expect(getEncapsulatedFrames(whole, 10)).toHaveLength(10);
  });

  it('accepts a 1 GiB pixel data value from its header alone, and flags one that runs past the file', () => {
    const header = concat(fileMeta(EXPLICIT), identity(), image(), element(Tags.PixelData, 'OW', new Uint8Array(0), EXPLICIT_LE, 1 << 30));
    const fileSize = header.length + (1 << 30);
    const started = performance.now();
    expect(parseDicom(header, { fileSize }).pixelData).toMatchObject({ offset: header.length, length: 1 << 30, complete: false });
    expect(performance.now() - started).toBeLessThan(200);
    expectCode(header, 'truncated', { fileSize: fileSize - 1 });
    // Only the stop makes the pixel bytes unnecessary; a full parse needs them.
    expectCode(header, 'header_too_large', { fileSize, stopAtPixelData: false });
  });

  it('detects truncated pixel data, native and encapsulated', () => {
    const native = concat(fileMeta(EXPLICIT), identity(), image(), element(Tags.PixelData, 'OW', new Uint8Array(8)));
    expect(parseDicom(native).pixelData?.complete).toBe(true);
    expectCode(native.subarray(0, native.length - 1), 'truncated');

    const jpeg = jpegFile();
    // The fragment item header is there, its bytes are not: cut before the trailing padding element.
    const cut = jpeg.subarray(0, jpeg.length - 12 - 8 - 3);
    expectCode(cut, 'truncated');
    // The same cut as a prefix of the real file is fine: the fragments are simply not known yet.
    expect(parseDicom(cut, { fileSize: jpeg.length }).pixelData?.complete).toBe(false);
    // A fragment declared longer than the whole file is caught even from a prefix.
    const lying = jpeg.slice();
    const firstFragment = parseDicom(jpeg).pixelData!.fragments![0]!;
    new DataView(lying.buffer).setUint32(firstFragment.itemOffset + 4, 0x7ffffff0, true);
    expectCode(lying.subarray(0, firstFragment.offset + 2), 'truncated', { fileSize: jpeg.length });
  });
});

describe('parseDicom: hostile and malformed input', () => {
  const base = () => concat(fileMeta(EXPLICIT), identity());

  function quickly(run: () => void): void {
    const started = performance.now();
    run();
    expect(performance.now() - started).toBeLessThan(1000);
  }

  it('rejects a huge declared length without allocating it', () => {
    quickly(() => expectCode(concat(base(), element(0x00291010, 'OB', new Uint8Array(16), EXPLICIT_LE, 0xfffffff0)), 'truncated'));
    quickly(() => expectCode(concat(base(), element(0x00291010, 'UT', new Uint8Array(16), EXPLICIT_LE, 0xfffffffd)), 'truncated'));
    quickly(() => expectCode(concat(base(), element(0x00291010, 'SQ', new Uint8Array(16), EXPLICIT_LE, 0x7fffffff)), 'truncated'));
    // Implicit VR: a huge length on a numeric tag.
    quickly(() => expectCode(concat(identity(IMPLICIT_LE), element(Tags.Rows, '', new Uint8Array(2), IMPLICIT_LE, 0xfffffff0)), 'truncated'));
  });

  it('rejects nesting deeper than maxDepth', () => {
    let nested = str(0x00100020, 'LO', 'deep');
    for (let level = 0; level < 5000; level++) nested = sequence(0x00081140, [item(nested, EXPLICIT_LE, true)], EXPLICIT_LE, true);
    const bytes = concat(base(), nested);
    quickly(() => expectCode(bytes, 'too_deep'));

    let shallow = str(0x00100020, 'LO', 'ok');
    for (let level = 0; level < 16; level++) shallow = sequence(0x00081140, [item(shallow)]);
    expect(parseDicom(concat(base(), shallow)).elements.size).toBeGreaterThan(0);
    expectCode(concat(base(), shallow), 'too_deep', { maxDepth: 15 });
  });

  it('ends undefined-length sequences and items that never close', () => {
    const unclosedItems = concat(base(), element(0x00081140, 'SQ', new Uint8Array(0), EXPLICIT_LE, UNDEFINED), ...Array.from({ length: 5000 }, () => item(new Uint8Array(0))));
    quickly(() => expectCode(unclosedItems, 'truncated'));
    const unclosedItem = concat(base(), element(0x00081140, 'SQ', new Uint8Array(0), EXPLICIT_LE, UNDEFINED), tagBytes(0xfffee000, true), numbers('UL', [UNDEFINED]));
    quickly(() => expectCode(unclosedItem, 'truncated'));
    const manyItems = concat(base(), sequence(0x00081140, Array.from({ length: 2000 }, () => item(new Uint8Array(0), EXPLICIT_LE, true)), EXPLICIT_LE, true));
    quickly(() => expectCode(manyItems, 'too_many_elements', { maxElements: 1000 }));
  });

  it('stops a flood of tiny elements at maxElements', () => {
    const one = element(0x00291010, 'OB', new Uint8Array(0));
    const flood = new Uint8Array(one.length * 200_000);
    for (let i = 0; i < 200_000; i++) flood.set(one, i * one.length);
    const bytes = concat(base(), flood);
    quickly(() => expectCode(bytes, 'too_many_elements', { maxElements: 100_000 }));
  });

  it('rejects structural nonsense as invalid_element', () => {
    expectCode(concat(base(), tagBytes(0x00291010, true), ascii('ZZ'), numbers('US', [2]), ascii('ab')), 'invalid_element');
    expectCode(concat(base(), item(new Uint8Array(0))), 'invalid_element');
    expectCode(concat(base(), sequence(0x00081140, [str(0x00100010, 'PN', 'not^an^item')])), 'invalid_element');
    // An element longer than the defined-length item around it.
    const overrun = concat(tagBytes(0xfffee000, true), numbers('UL', [8]), element(0x00081150, 'UI', ascii('1.2.3.4.5.6.7.8.9\0')));
    expectCode(concat(base(), element(0x00081140, 'SQ', overrun)), 'invalid_element');
    // An item longer than the defined-length sequence around it.
    const longItem = concat(tagBytes(0xfffee000, true), numbers('UL', [64]), new Uint8Array(64));
    expectCode(concat(base(), element(0x00081140, 'SQ', longItem, EXPLICIT_LE, 16), new Uint8Array(64)), 'invalid_element');
    // Only SQ, UN and pixel data may have undefined length.
    expectCode(concat(base(), element(0x00324000, 'UT', new Uint8Array(0), EXPLICIT_LE, UNDEFINED), new Uint8Array(16)), 'invalid_element');
  });

  it('classifies file meta problems', () => {
    expectCode(concat(fileMeta(null), identity()), 'missing_transfer_syntax');
    expectCode(concat(fileMeta('1.2.3.4.5.6'), identity()), 'unsupported_transfer_syntax');
    const badMeta = concat(new Uint8Array(128), ascii('DICM'), element(0x00020001, 'OB', new Uint8Array(0), EXPLICIT_LE, UNDEFINED), new Uint8Array(16));
    expectCode(badMeta, 'invalid_meta');
    const badVr = concat(new Uint8Array(128), ascii('DICM'), str(0x00020002, 'UI', '1.2'), tagBytes(0x00020010, true), ascii('Q?'), numbers('US', [2]), ascii('1\0'));
    expectCode(badVr, 'invalid_meta');
    expectCode(new Uint8Array(0), 'empty_file');
    expectCode(new TextEncoder().encode('hello, world'), 'not_dicom');
    expectCode(fileMeta(EXPLICIT).subarray(0, 100), 'header_too_large', { fileSize: 10_000 });
  });

  it('throws nothing but DicomParseError for randomly damaged corpus files', () => {
    const sources = ['ct_small_explicit_le.dcm', 'mr_small_implicit.dcm', 'mr_small_big_endian.dcm', 'sc_rgb_rle.dcm', 'sr_test.dcm', 'ot_deflate.dcm', 'charset_japanese_h31.dcm'].map(fixture);
    const next = random(20240601);
    const started = performance.now();
    let failures = 0;
    for (let round = 0; round < 600; round++) {
      const source = sources[round % sources.length]!;
      const bytes = source.slice(0, Math.min(source.length, 6000));
      const damage = 1 + Math.floor(next() * 8);
      for (let i = 0; i < damage; i++) {
        // Mostly the header, where lengths and tags are; sometimes a byte anywhere.
        const at = next() < 0.8 ? 128 + Math.floor(next() * Math.min(bytes.length - 128, 1200)) : Math.floor(next() * bytes.length);
        bytes[at] = next() < 0.3 ? 0xff : Math.floor(next() * 256);
      }
      const cut = next() < 0.3 ? bytes.subarray(0, Math.floor(next() * bytes.length)) : bytes;
      for (const options of [{}, { stopAtPixelData: false }, { fileSize: cut.length * 2 }] as ParseOptions[]) {
        try {
          parseDicom(cut, options);
        } catch (error) {
          if (!(error instanceof DicomParseError)) throw error;
          failures += 1;
        }
      }
    }
    expect(failures).toBeGreaterThan(100);
    expect(performance.now() - started).toBeLessThan(10_000);
  });
});

describe('parseDicom: deflate', () => {
  function deflated(dataset: Uint8Array): Uint8Array {
    return concat(fileMeta(DEFLATE), deflateRawSync(dataset));
  }

  it('inflates the dataset and keeps offsets in the inflated bytes', () => {
    const dataset = concat(identity(), image(), element(Tags.PixelData, 'OW', Uint8Array.from([1, 0, 2, 0, 3, 0, 4, 0])));
    const parsed: DicomDataset = parseDicom(deflated(dataset));
    expect(parsed.deflated).toBe(true);
    expect(new Uint8Array(parsed.datasetBytes)).toEqual(dataset);
    const pixel = getElement(parsed, Tags.PixelData)!;
    expect(parsed.pixelData).toMatchObject({ offset: dataset.length - 8, length: 8, complete: true });
    // The whole dataset is inflated anyway, so the pixel bytes are there even when parsing stops.
    expect(Array.from(getElementBytes(parsed, pixel) ?? [])).toEqual([1, 0, 2, 0, 3, 0, 4, 0]);
    expect(readDicomMetadata(deflated(dataset))).toMatchObject({ rows: 2, transferSyntaxUid: DEFLATE, pixelData: { deflated: true } });
  });

  it('refuses to inflate past maxInflatedBytes', () => {
    const bomb = deflated(concat(identity(), element(0x00291010, 'OB', new Uint8Array(4 << 20))));
    expect(bomb.length).toBeLessThan(20_000);
    expectCode(bomb, 'inflate_limit', { maxInflatedBytes: 1 << 20 });
    expect(parseDicom(bomb).elements.size).toBeGreaterThan(5);
  });

  it('reports a corrupt or cut deflate stream, and a prefix that needs more bytes', () => {
    const file = fixture('ot_deflate.dcm');
    const corrupt = file.slice();
    corrupt.fill(0xff, 400, 440);
    expect(['inflate_failed', 'truncated', 'invalid_element']).toContain(parseError(corrupt).code);
    expectCode(file.subarray(0, 1000), 'truncated');
    expectCode(file.subarray(0, 1000), 'header_too_large', { fileSize: file.length, stopAtPixelData: false });
    expect(readDicomMetadata(file)).toMatchObject({ rows: 512, columns: 512, transferSyntaxUid: DEFLATE });
  });
});
