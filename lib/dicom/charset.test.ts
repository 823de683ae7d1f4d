import { describe, expect, it } from 'vitest';
import { ascii, concat, element, fileMeta, str } from './__fixtures__/builder';
import { createCharsetDecoder } from './charset';
import { readDicomMetadata, parseDicom, getStrings, Tags } from './index';

const hex = (text: string) => Uint8Array.from(text.match(/../g) ?? [], (pair) => parseInt(pair, 16));
const bytesOf = (...parts: Array<string | Uint8Array>) => concat(...parts.map((part) => (typeof part === 'string' ? ascii(part) : part)));
const ESC = '\x1b';

describe('createCharsetDecoder', () => {
  it('reads the default repertoire as Latin-1, keeping C1 controls as pydicom does', () => {
    const decoder = createCharsetDecoder(undefined);
    expect(decoder.decode(hex('4275635e4ae972f46d65'), 'person-name')).toBe('Buc^Jérôme');
    // WHATWG's "latin1" is windows-1252, which would turn 0x80 into '€'.
    expect(decoder.decode(hex('80'), 'text')).toBe('\u0080');
  });

  it('decodes single-byte ISO 8859 sets', () => {
    expect(createCharsetDecoder(['ISO_IR 100']).decode(hex('4275635e4ae972f46d65'), 'person-name')).toBe('Buc^Jérôme');
    expect(createCharsetDecoder(['ISO_IR 126']).decode(hex('c4e9efedf5f3e9eff2'), 'person-name')).toBe('Διονυσιος');
    expect(createCharsetDecoder(['ISO_IR 101']).decode(hex('f5'), 'text')).toBe('ő');
    expect(createCharsetDecoder(['ISO_IR 148']).decode(hex('8add'), 'text')).toBe('\u008aİ');
  });

  it('decodes UTF-8 and GB18030', () => {
    expect(createCharsetDecoder(['ISO_IR 192']).decode(new TextEncoder().encode('Wang^XiaoDong=王^小东'), 'person-name')).toBe('Wang^XiaoDong=王^小东');
    expect(createCharsetDecoder(['GB18030']).decode(bytesOf('Wang^XiaoDong=', hex('cdf5'), '^', hex('d0a1b6ab'), '='), 'person-name')).toBe('Wang^XiaoDong=王^小东=');
  });

  it('decodes ISO 2022 Japanese with JIS X 0201 katakana and JIS X 0208 (PS3.5 H.3.1)', () => {
    const decoder = createCharsetDecoder(['ISO 2022 IR 13', 'ISO 2022 IR 87']);
    const value = bytesOf(
      hex('d4cfc0de'),
      '^',
      hex('c0dbb3'),
      `=${ESC}$B;3ED${ESC}(J^${ESC}$BB@O:${ESC}(J=${ESC}$B$d$^$@${ESC}(J^${ESC}$B$?$m$&${ESC}(J`,
    );
    expect(decoder.decode(value, 'person-name')).toBe('ﾔﾏﾀﾞ^ﾀﾛｳ=山田^太郎=やまだ^たろう');
  });

  it('decodes ISO 2022 Korean (PS3.5 I.2)', () => {
    const decoder = createCharsetDecoder(['', 'ISO 2022 IR 149']);
    const value = bytesOf(`Hong^Gildong=${ESC}$)C`, hex('fbf3'), `^${ESC}$)C`, hex('d1ced4d7'), `=${ESC}$)C`, hex('c8ab'), `^${ESC}$)C`, hex('b1e6b5bf'));
    expect(decoder.decode(value, 'person-name')).toBe('Hong^Gildong=洪^吉洞=홍^길동');
  });

  it('decodes ISO 2022 Chinese GB 2312 (PS3.5 K.2)', () => {
    const decoder = createCharsetDecoder(['', 'ISO 2022 IR 58']);
    expect(decoder.decode(bytesOf(`Zhang^XiaoDong=${ESC}$)A`, hex('d5c5'), '^', `${ESC}$)A`, hex('d0a1b6ab'), '='), 'person-name')).toBe(
      'Zhang^XiaoDong=张^小东=',
    );
  });

  it('does not take the second byte of a JIS X 0208 character for a delimiter', () => {
    // 0x5E ('^') and 0x3D ('=') are valid trailing bytes inside two-byte JIS X 0208 characters.
    const decoder = createCharsetDecoder(['', 'ISO 2022 IR 87']);
    expect(decoder.decode(bytesOf(`${ESC}$B$^$=${ESC}(B`), 'person-name')).toBe('まそ');
  });

  it('reads unknown terms as the default repertoire and reports them', () => {
    const decoder = createCharsetDecoder(['ISO_IR 999']);
    expect(decoder.unknownTerms).toEqual(['ISO_IR 999']);
    expect(decoder.decode(hex('e9'), 'text')).toBe('é');
  });
});

describe('character sets in a dataset', () => {
  function file(charset: string, name: Uint8Array): Uint8Array {
    const pn = element(Tags.PatientName, 'PN', name.length % 2 ? concat(name, ascii(' ')) : name);
    return concat(fileMeta('1.2.840.10008.1.2.1'), str(Tags.SpecificCharacterSet, 'CS', charset), pn);
  }

  it('applies (0008,0005) to PN but not to CS/UI values', () => {
    const bytes = file('ISO_IR 144', hex('bbeeeaeceaed'));
    expect(readDicomMetadata(bytes).patientName).toBe('Люъьъэ');
    expect(getStrings(parseDicom(bytes), Tags.SpecificCharacterSet)).toEqual(['ISO_IR 144']);
  });

  it('keeps the empty first value of a multi-valued Specific Character Set', () => {
    const bytes = file('\\ISO 2022 IR 87', bytesOf(`${ESC}$B;3ED${ESC}(B`));
    const metadata = readDicomMetadata(bytes);
    expect(metadata.specificCharacterSet).toEqual(['', 'ISO 2022 IR 87']);
    expect(metadata.patientName).toBe('山田');
  });

  it('warns about an unknown character set and still reads the name', () => {
    const dataset = parseDicom(file('ISO_IR 999', ascii('Doe^John')));
    expect(dataset.warnings.some((warning) => warning.includes('ISO_IR 999'))).toBe(true);
    expect(readDicomMetadata(file('ISO_IR 999', ascii('Doe^John'))).patientName).toBe('Doe^John');
  });
});
