import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { listElements, parseDicom, toExplicitLittleEndian } from '@/lib/dicom';
import { decodeFrame } from '@/lib/imaging/decode';
import { dicomCorpus } from '@/lib/testing/corpus';
import { datasetToJson, personName } from './dicom-json';

const file = (id: string) => new Uint8Array(readFileSync(dicomCorpus().find((e) => e.id === id)!.path));

describe('DICOM JSON model', () => {
  it('splits person names into component groups', () => {
    expect(personName('Yamada^Tarou=山田^太郎=やまだ^たろう')).toEqual({ Alphabetic: 'Yamada^Tarou', Ideographic: '山田^太郎', Phonetic: 'やまだ^たろう' });
    expect(personName('=山田^太郎')).toEqual({ Ideographic: '山田^太郎' });
    expect(personName('')).toBeNull();
  });

  it('converts a dataset: strings, numbers, decoded character sets, sequences, binary values', () => {
    const dataset = parseDicom(file('charset_japanese_h31'), { stopAtPixelData: true });
    const json = datasetToJson(dataset, { bulkDataUri: (e) => `bulk/${e.tag.toString(16)}` });
    expect(json['00100010']).toEqual({ vr: 'PN', Value: [{ Alphabetic: 'Yamada^Tarou', Ideographic: '山田^太郎', Phonetic: 'やまだ^たろう' }] });
    expect(json['00280010']).toEqual({ vr: 'US', Value: [32] });
    expect(json['7FE00010']).toEqual({ vr: expect.stringMatching(/^O[BW]$/), BulkDataURI: 'bulk/7fe00010' });
    expect(Object.keys(json).some((k) => k.startsWith('0002'))).toBe(false);

    const sr = datasetToJson(parseDicom(file('sr_test')));
    const content = Object.values(sr).find((a) => a.vr === 'SQ' && a.Value?.length);
    expect(content?.Value?.[0]).toEqual(expect.any(Object));
    // Small binary values are inlined as base64.
    const icon = datasetToJson(parseDicom(file('ot_icon_explicit_le'), { stopAtPixelData: false }), { inlineLimit: 64 });
    const inline = Object.values(icon).filter((a) => a.InlineBinary);
    for (const a of inline) expect(Buffer.from(a.InlineBinary!, 'base64').toString('base64')).toBe(a.InlineBinary);
  });

  it('re-encodes implicit VR and big endian files as Explicit VR Little Endian, keeping every value and pixel', async () => {
    for (const id of ['mr_small_implicit', 'mr_small_big_endian', 'us_rgb_big_endian', 'ct_ankle_implicit', 'mr_small_meta_no_preamble', 'rtplan']) {
      const original = parseDicom(file(id), { stopAtPixelData: false });
      const reencoded = parseDicom(toExplicitLittleEndian(original), { stopAtPixelData: false });
      expect(reencoded.transferSyntaxUid, id).toBe('1.2.840.10008.1.2.1');
      expect(reencoded.preamble && reencoded.hasFileMeta).toBe(true);
      const rows = (ds: typeof original) => listElements(ds).filter((r) => !r.meta && !r.tag.endsWith('0000')).map((r) => [r.path.join('/'), r.value]);
      expect(rows(reencoded), id).toEqual(rows(original));
      if (original.pixelData) {
        const a = await decodeFrame(original, 0);
        const b = await decodeFrame(reencoded, 0);
        expect(Buffer.from(b.data.buffer, b.data.byteOffset, b.data.byteLength).equals(Buffer.from(a.data.buffer, a.data.byteOffset, a.data.byteLength)), id).toBe(true);
      }
    }
  });
});
