export interface TransferSyntax {
  uid: string;
  name: string;
  explicitVr: boolean;
  littleEndian: boolean;
  /** The dataset after the file meta group is a raw deflate stream. */
  deflated: boolean;
  /** Pixel Data is encapsulated (undefined length, one item per fragment). */
  encapsulated: boolean;
  retired: boolean;
}

export const IMPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2';
export const EXPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2.1';
export const DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2.1.99';
export const EXPLICIT_VR_BIG_ENDIAN = '1.2.840.10008.1.2.2';

type Kind = 'native' | 'encapsulated' | 'deflated';

function entry(uid: string, name: string, kind: Kind, options: { implicit?: boolean; bigEndian?: boolean; retired?: boolean } = {}): TransferSyntax {
  return {
    uid,
    name,
    explicitVr: !options.implicit,
    littleEndian: !options.bigEndian,
    deflated: kind === 'deflated',
    encapsulated: kind === 'encapsulated',
    retired: options.retired ?? false,
  };
}

const JPEG_RETIRED: Array<[string, string]> = [
  ['52', 'JPEG Extended (Process 3 & 5)'],
  ['53', 'JPEG Spectral Selection, Non-Hierarchical (Process 6 & 8)'],
  ['54', 'JPEG Spectral Selection, Non-Hierarchical (Process 7 & 9)'],
  ['55', 'JPEG Full Progression, Non-Hierarchical (Process 10 & 12)'],
  ['56', 'JPEG Full Progression, Non-Hierarchical (Process 11 & 13)'],
  ['58', 'JPEG Lossless, Non-Hierarchical (Process 15)'],
  ['59', 'JPEG Extended, Hierarchical (Process 16 & 18)'],
  ['60', 'JPEG Extended, Hierarchical (Process 17 & 19)'],
  ['61', 'JPEG Spectral Selection, Hierarchical (Process 20 & 22)'],
  ['62', 'JPEG Spectral Selection, Hierarchical (Process 21 & 23)'],
  ['63', 'JPEG Full Progression, Hierarchical (Process 24 & 26)'],
  ['64', 'JPEG Full Progression, Hierarchical (Process 25 & 27)'],
  ['65', 'JPEG Lossless, Hierarchical (Process 28)'],
  ['66', 'JPEG Lossless, Hierarchical (Process 29)'],
];

const VIDEO: Array<[string, string]> = [
  ['100', 'MPEG2 Main Profile / Main Level'],
  ['100.1', 'Fragmentable MPEG2 Main Profile / Main Level'],
  ['101', 'MPEG2 Main Profile / High Level'],
  ['101.1', 'Fragmentable MPEG2 Main Profile / High Level'],
  ['102', 'MPEG-4 AVC/H.264 High Profile / Level 4.1'],
  ['102.1', 'Fragmentable MPEG-4 AVC/H.264 High Profile / Level 4.1'],
  ['103', 'MPEG-4 AVC/H.264 BD-compatible High Profile / Level 4.1'],
  ['103.1', 'Fragmentable MPEG-4 AVC/H.264 BD-compatible High Profile / Level 4.1'],
  ['104', 'MPEG-4 AVC/H.264 High Profile / Level 4.2 For 2D Video'],
  ['104.1', 'Fragmentable MPEG-4 AVC/H.264 High Profile / Level 4.2 For 2D Video'],
  ['105', 'MPEG-4 AVC/H.264 High Profile / Level 4.2 For 3D Video'],
  ['105.1', 'Fragmentable MPEG-4 AVC/H.264 High Profile / Level 4.2 For 3D Video'],
  ['106', 'MPEG-4 AVC/H.264 Stereo High Profile / Level 4.2'],
  ['106.1', 'Fragmentable MPEG-4 AVC/H.264 Stereo High Profile / Level 4.2'],
  ['107', 'HEVC/H.265 Main Profile / Level 5.1'],
  ['108', 'HEVC/H.265 Main 10 Profile / Level 5.1'],
];

const P = '1.2.840.10008.1.2.4.';

const ALL: TransferSyntax[] = [
  entry(IMPLICIT_VR_LITTLE_ENDIAN, 'Implicit VR Little Endian', 'native', { implicit: true }),
  entry(EXPLICIT_VR_LITTLE_ENDIAN, 'Explicit VR Little Endian', 'native'),
  entry('1.2.840.10008.1.2.1.98', 'Encapsulated Uncompressed Explicit VR Little Endian', 'encapsulated'),
  entry(DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN, 'Deflated Explicit VR Little Endian', 'deflated'),
  entry(EXPLICIT_VR_BIG_ENDIAN, 'Explicit VR Big Endian', 'native', { bigEndian: true, retired: true }),
  entry(`${P}50`, 'JPEG Baseline (Process 1)', 'encapsulated'),
  entry(`${P}51`, 'JPEG Extended (Process 2 & 4)', 'encapsulated'),
  ...JPEG_RETIRED.map(([suffix, name]) => entry(`${P}${suffix}`, name, 'encapsulated', { retired: true })),
  entry(`${P}57`, 'JPEG Lossless, Non-Hierarchical (Process 14)', 'encapsulated'),
  entry(`${P}70`, 'JPEG Lossless, Non-Hierarchical, First-Order Prediction (Process 14 [Selection Value 1])', 'encapsulated'),
  entry(`${P}80`, 'JPEG-LS Lossless Image Compression', 'encapsulated'),
  entry(`${P}81`, 'JPEG-LS Lossy (Near-Lossless) Image Compression', 'encapsulated'),
  entry(`${P}90`, 'JPEG 2000 Image Compression (Lossless Only)', 'encapsulated'),
  entry(`${P}91`, 'JPEG 2000 Image Compression', 'encapsulated'),
  entry(`${P}92`, 'JPEG 2000 Part 2 Multi-component Image Compression (Lossless Only)', 'encapsulated'),
  entry(`${P}93`, 'JPEG 2000 Part 2 Multi-component Image Compression', 'encapsulated'),
  // JPIP syntaxes reference pixel data by URL, so the dataset itself holds none.
  entry(`${P}94`, 'JPIP Referenced', 'native'),
  entry(`${P}95`, 'JPIP Referenced Deflate', 'deflated'),
  ...VIDEO.map(([suffix, name]) => entry(`${P}${suffix}`, name, 'encapsulated')),
  entry(`${P}110`, 'JPEG XL Lossless', 'encapsulated'),
  entry(`${P}111`, 'JPEG XL JPEG Recompression', 'encapsulated'),
  entry(`${P}112`, 'JPEG XL', 'encapsulated'),
  entry(`${P}201`, 'High-Throughput JPEG 2000 Image Compression (Lossless Only)', 'encapsulated'),
  entry(`${P}202`, 'High-Throughput JPEG 2000 with RPCL Options Image Compression (Lossless Only)', 'encapsulated'),
  entry(`${P}203`, 'High-Throughput JPEG 2000 Image Compression', 'encapsulated'),
  entry(`${P}204`, 'JPIP HTJ2K Referenced', 'native'),
  entry(`${P}205`, 'JPIP HTJ2K Referenced Deflate', 'deflated'),
  entry('1.2.840.10008.1.2.5', 'RLE Lossless', 'encapsulated'),
  entry('1.2.840.10008.1.2.7.1', 'SMPTE ST 2110-20 Uncompressed Progressive Active Video', 'native'),
  entry('1.2.840.10008.1.2.7.2', 'SMPTE ST 2110-20 Uncompressed Interlaced Active Video', 'native'),
  entry('1.2.840.10008.1.2.7.3', 'SMPTE ST 2110-30 PCM Digital Audio', 'native'),
  entry('1.2.840.10008.1.2.8.1', 'Deflated Image Frame Compression', 'encapsulated'),
];

const BY_UID: ReadonlyMap<string, TransferSyntax> = new Map(ALL.map((ts) => [ts.uid, ts]));

export function lookupTransferSyntax(uid: string): TransferSyntax | undefined {
  return BY_UID.get(uid);
}

/** What a dataset without file meta was found to be; it has no UID of its own. */
export function guessedTransferSyntax(explicitVr: boolean, littleEndian: boolean): TransferSyntax {
  const uid = !explicitVr ? IMPLICIT_VR_LITTLE_ENDIAN : littleEndian ? EXPLICIT_VR_LITTLE_ENDIAN : EXPLICIT_VR_BIG_ENDIAN;
  return BY_UID.get(uid) as TransferSyntax;
}
