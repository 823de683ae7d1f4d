/**
 * A minimal Explicit VR Little Endian DICOM writer for synthetic test and benchmark data (the
 * corpus has no 512×512 CT series). It writes what it is given, in tag order; no validation.
 */

export interface WriteElement {
  tag: number;
  vr: string;
  value: string | number | number[] | Uint8Array;
}

const LONG_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OW', 'SQ', 'UC', 'UN', 'UR', 'UT']);

function encodeValue(vr: string, value: WriteElement['value']): Buffer {
  if (value instanceof Uint8Array) {
    const b = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
    return b.length % 2 ? Buffer.concat([b, Buffer.alloc(1)]) : b;
  }
  if (vr === 'US' || vr === 'SS') {
    const values = Array.isArray(value) ? value : [Number(value)];
    const b = Buffer.alloc(values.length * 2);
    values.forEach((v, i) => (vr === 'US' ? b.writeUInt16LE(v, i * 2) : b.writeInt16LE(v, i * 2)));
    return b;
  }
  if (vr === 'UL') {
    const values = Array.isArray(value) ? value : [Number(value)];
    const b = Buffer.alloc(values.length * 4);
    values.forEach((v, i) => b.writeUInt32LE(v, i * 4));
    return b;
  }
  const text = Array.isArray(value) ? value.join('\\') : String(value);
  const pad = vr === 'UI' ? '\0' : ' ';
  return Buffer.from(text.length % 2 ? text + pad : text, 'latin1');
}

function encodeElement({ tag, vr, value }: WriteElement): Buffer {
  const body = encodeValue(vr, value);
  const long = LONG_VRS.has(vr);
  const header = Buffer.alloc(long ? 12 : 8);
  header.writeUInt16LE(tag >>> 16, 0);
  header.writeUInt16LE(tag & 0xffff, 2);
  header.write(vr, 4, 'latin1');
  if (long) header.writeUInt32LE(body.length, 8);
  else header.writeUInt16LE(body.length, 6);
  return Buffer.concat([header, body]);
}

export function writeDicom(elements: WriteElement[], meta: { sopClassUid: string; sopInstanceUid: string; transferSyntaxUid?: string }): Buffer {
  const metaElements = Buffer.concat(
    [
      { tag: 0x00020001, vr: 'OB', value: new Uint8Array([0, 1]) },
      { tag: 0x00020002, vr: 'UI', value: meta.sopClassUid },
      { tag: 0x00020003, vr: 'UI', value: meta.sopInstanceUid },
      { tag: 0x00020010, vr: 'UI', value: meta.transferSyntaxUid ?? '1.2.840.10008.1.2.1' },
      { tag: 0x00020012, vr: 'UI', value: '1.2.826.0.1.3680043.10.1081' },
    ].map(encodeElement),
  );
  const groupLength = encodeElement({ tag: 0x00020000, vr: 'UL', value: metaElements.length });
  const body = Buffer.concat([...elements].sort((a, b) => a.tag - b.tag).map(encodeElement));
  return Buffer.concat([Buffer.alloc(128), Buffer.from('DICM', 'latin1'), groupLength, metaElements, body]);
}

/** A synthetic CT slice (MONOCHROME2, 16-bit signed, rescale -1024) with a body-like disc. */
export function syntheticCtSlice(options: { size: number; index: number; studyUid: string; seriesUid: string; sopUid: string }): Buffer {
  const { size, index } = options;
  const pixels = new Int16Array(size * size);
  const r = size * 0.4;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const d = Math.hypot(x - size / 2, y - size / 2);
      // Air outside, soft tissue inside, a "bone" ring and some texture so codecs have work to do.
      const hu = d > r ? -1000 : d > r - 6 ? 700 : 40 + ((x * 7 + y * 13 + index * 31) % 60);
      pixels[y * size + x] = hu + 1024;
    }
  }
  const ct = '1.2.840.10008.5.1.4.1.1.2';
  return writeDicom(
    [
      { tag: 0x00080016, vr: 'UI', value: ct },
      { tag: 0x00080018, vr: 'UI', value: options.sopUid },
      { tag: 0x00080020, vr: 'DA', value: '20260101' },
      { tag: 0x00080060, vr: 'CS', value: 'CT' },
      { tag: 0x00100010, vr: 'PN', value: 'Synthetic^Phantom' },
      { tag: 0x00100020, vr: 'LO', value: 'SYNTH-0001' },
      { tag: 0x0020000d, vr: 'UI', value: options.studyUid },
      { tag: 0x0020000e, vr: 'UI', value: options.seriesUid },
      { tag: 0x00200013, vr: 'IS', value: String(index + 1) },
      { tag: 0x00200032, vr: 'DS', value: [0, 0, index * 1.25] },
      { tag: 0x00280002, vr: 'US', value: 1 },
      { tag: 0x00280004, vr: 'CS', value: 'MONOCHROME2' },
      { tag: 0x00280010, vr: 'US', value: size },
      { tag: 0x00280011, vr: 'US', value: size },
      { tag: 0x00280030, vr: 'DS', value: [0.7, 0.7] },
      { tag: 0x00280100, vr: 'US', value: 16 },
      { tag: 0x00280101, vr: 'US', value: 16 },
      { tag: 0x00280102, vr: 'US', value: 15 },
      { tag: 0x00280103, vr: 'US', value: 1 },
      { tag: 0x00281050, vr: 'DS', value: 40 },
      { tag: 0x00281051, vr: 'DS', value: 400 },
      { tag: 0x00281052, vr: 'DS', value: -1024 },
      { tag: 0x00281053, vr: 'DS', value: 1 },
      { tag: 0x7fe00010, vr: 'OW', value: new Uint8Array(pixels.buffer) },
    ],
    { sopClassUid: ct, sopInstanceUid: options.sopUid },
  );
}
