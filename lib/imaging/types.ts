/** Typed arrays a decoded frame's samples may come in, matching the stored sample type. */
export type PixelArray = Uint8Array | Int8Array | Uint16Array | Int16Array | Uint32Array | Int32Array | Float32Array | Float64Array;

/**
 * One decoded frame, exactly as pydicom's `pixel_array` gives it for that frame: stored values
 * (no rescale, no LUTs), row-major, samples interleaved (planar configuration resolved),
 * 1-bit data unpacked to one byte per pixel, signed data sign-extended from Bits Stored.
 */
export interface DecodedFrame {
  rows: number;
  columns: number;
  samplesPerPixel: number;
  /**
   * What the samples are after decoding: JPEG codecs that colour-convert (baseline YBR_FULL_422
   * to RGB, as pydicom/Pillow do) report RGB; everything else keeps the file's value.
   */
  photometricInterpretation: string;
  bitsAllocated: number;
  bitsStored: number;
  pixelRepresentation: 0 | 1;
  data: PixelArray;
}
