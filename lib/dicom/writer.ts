/**
 * A minimal Explicit VR Little Endian DICOM writer: for objects the server makes itself (NIfTI
 * volumes converted for the viewer) and for synthetic test and benchmark data (the corpus has no
 * 512×512 CT series). It writes what it is given, in tag order; no validation.
 */

export interface WriteElement {
  tag: number;
  vr: string;
  /** For SQ: the items, each a list of elements (explicit lengths). */
  value: string | number | number[] | Uint8Array | WriteElement[][];
}

const LONG_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OW', 'SQ', 'UC', 'UN', 'UR', 'UT']);

function encodeItems(items: WriteElement[][]): Buffer {
  return Buffer.concat(
    items.map((item) => {
      const body = Buffer.concat([...item].sort((a, b) => a.tag - b.tag).map(encodeElement));
      const header = Buffer.alloc(8);
      header.writeUInt16LE(0xfffe, 0);
      header.writeUInt16LE(0xe000, 2);
      header.writeUInt32LE(body.length, 4);
      return Buffer.concat([header, body]);
    }),
  );
}

function encodeValue(vr: string, value: WriteElement['value']): Buffer {
  if (vr === 'SQ') {
    if (!Array.isArray(value) || !value.every(Array.isArray)) throw new Error('SQ values are lists of items');
    return encodeItems(value as WriteElement[][]);
  }
  if (value instanceof Uint8Array) {
    const b = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
    return b.length % 2 ? Buffer.concat([b, Buffer.alloc(1)]) : b;
  }
  if (vr === 'US' || vr === 'SS') {
    const values = (Array.isArray(value) ? value : [Number(value)]) as number[];
    const b = Buffer.alloc(values.length * 2);
    values.forEach((v, i) => (vr === 'US' ? b.writeUInt16LE(v, i * 2) : b.writeInt16LE(v, i * 2)));
    return b;
  }
  if (vr === 'FL') {
    const values = (Array.isArray(value) ? value : [Number(value)]) as number[];
    const b = Buffer.alloc(values.length * 4);
    values.forEach((v, i) => b.writeFloatLE(v, i * 4));
    return b;
  }
  if (vr === 'UL') {
    const values = (Array.isArray(value) ? value : [Number(value)]) as number[];
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
