/**
 * Builds small image datasets for the decode tests (encodings and layouts the corpus lacks), on
 * top of lib/dicom's hand encoder.
 */
import { concat, element, encapsulatedPixelData, EXPLICIT_LE, fileMeta, identity, str, us, type Encoding } from '@/lib/dicom/__fixtures__/builder';
import { parseDicom, type DicomDataset } from '@/lib/dicom';

export interface ImageSpec {
  transferSyntax?: string;
  encoding?: Encoding;
  rows: number;
  columns: number;
  samplesPerPixel?: number;
  photometric?: string;
  planarConfiguration?: number;
  /** Written as IS text, so '1A' is possible. */
  frames?: string;
  bitsAllocated?: number;
  bitsStored?: number;
  pixelRepresentation?: number;
  /** Native pixel value bytes, already in the dataset's byte order. */
  pixels?: Uint8Array;
  vr?: string;
  pixelTag?: number;
  /** Encapsulated fragments instead of native pixels. */
  fragments?: Uint8Array[];
  offsetTable?: number[];
  omit?: number[];
  /** More top-level elements, already encoded (tag, bytes). */
  extra?: Array<[number, Uint8Array]>;
}

export function buildImage(spec: ImageSpec): Uint8Array {
  const encoding = spec.encoding ?? EXPLICIT_LE;
  const ts = spec.transferSyntax ?? '1.2.840.10008.1.2.1';
  const omit = new Set(spec.omit ?? []);
  const ba = spec.bitsAllocated ?? 16;
  const parts: Array<[number, Uint8Array]> = [
    [0x00280002, us(0x00280002, spec.samplesPerPixel ?? 1, encoding)],
    [0x00280004, str(0x00280004, 'CS', spec.photometric ?? ((spec.samplesPerPixel ?? 1) > 1 ? 'RGB' : 'MONOCHROME2'), encoding)],
    [0x00280010, us(0x00280010, spec.rows, encoding)],
    [0x00280011, us(0x00280011, spec.columns, encoding)],
    [0x00280100, us(0x00280100, ba, encoding)],
    [0x00280101, us(0x00280101, spec.bitsStored ?? ba, encoding)],
    [0x00280102, us(0x00280102, (spec.bitsStored ?? ba) - 1, encoding)],
    [0x00280103, us(0x00280103, spec.pixelRepresentation ?? 0, encoding)],
  ];
  if (spec.planarConfiguration !== undefined) parts.push([0x00280006, us(0x00280006, spec.planarConfiguration, encoding)]);
  if (spec.frames !== undefined) parts.push([0x00280008, str(0x00280008, 'IS', spec.frames, encoding)]);
  parts.push(...(spec.extra ?? []));
  parts.sort((a, b) => a[0] - b[0]);
  const pixel = spec.fragments
    ? encapsulatedPixelData(spec.fragments, spec.offsetTable)
    : element(spec.pixelTag ?? 0x7fe00010, spec.vr ?? (ba > 8 ? 'OW' : 'OB'), spec.pixels ?? new Uint8Array(0), encoding);
  return concat(fileMeta(ts), identity(encoding), ...parts.filter(([tag]) => !omit.has(tag)).map(([, bytes]) => bytes), pixel);
}

export function image(spec: ImageSpec): DicomDataset {
  return parseDicom(buildImage(spec), { stopAtPixelData: false });
}

/** Samples as bytes in the given byte order. */
export function sampleBytes(values: number[], bytesPerSample: number, littleEndian = true, float = false): Uint8Array {
  const out = new Uint8Array(values.length * bytesPerSample);
  const view = new DataView(out.buffer);
  values.forEach((v, i) => {
    const at = i * bytesPerSample;
    if (float && bytesPerSample === 4) view.setFloat32(at, v, littleEndian);
    else if (float) view.setFloat64(at, v, littleEndian);
    else if (bytesPerSample === 1) out[at] = v & 0xff;
    else if (bytesPerSample === 2) view.setUint16(at, v & 0xffff, littleEndian);
    else view.setUint32(at, v >>> 0, littleEndian);
  });
  return out;
}

/** PackBits with replicate runs for repeats and literal runs otherwise (PS3.5 G.3.1). */
export function packBits(data: Uint8Array): Uint8Array {
  const out: number[] = [];
  let i = 0;
  while (i < data.length) {
    let run = 1;
    while (i + run < data.length && run < 128 && data[i + run] === data[i]) run++;
    if (run >= 2) {
      out.push(257 - run, data[i]!);
      i += run;
      continue;
    }
    const start = i;
    while (i < data.length && i - start < 128 && !(i + 1 < data.length && data[i + 1] === data[i])) i++;
    if (i === start) i++;
    out.push(i - start - 1, ...data.subarray(start, i));
  }
  return Uint8Array.from(out);
}

/** An RLE Lossless frame from its segments (already split by sample and byte, MSB first). */
export function rleFrame(segments: Uint8Array[]): Uint8Array {
  const encoded = segments.map((segment) => {
    const packed = packBits(segment);
    return packed.length % 2 ? concat(packed, new Uint8Array([0x80])) : packed;
  });
  const header = new Uint8Array(64);
  const view = new DataView(header.buffer);
  view.setUint32(0, encoded.length, true);
  let offset = 64;
  encoded.forEach((segment, i) => {
    view.setUint32(4 + i * 4, offset, true);
    offset += segment.length;
  });
  return concat(header, ...encoded);
}
