/**
 * dwv 0.36 takes the value range of an image from its first 3D volume only
 * (Image.calculateDataRange stops at the third dimension), and a multi-frame file is one frame
 * per step of the fourth: for a NIfTI volume converted to frames, or any multi-frame DICOM, the
 * range is that of frame 1. dwv clamps every window to that range (a background first slice
 * leaves a window of width 0, so everything is black or white) and scales the window drag with
 * it. This gives the image the range of all its frames instead. No DOM: tested in Node.
 */

interface RangeImage {
  getGeometry(): { getSize(): { length(): number; get(i: number): number } };
  getBuffer(): ArrayLike<number>;
  getNumberOfComponents(): number;
  isConstantRSI(): boolean;
  getRescaleSlopeAndIntercept(): { apply(value: number): number };
  getDataRange(): { min: number; max: number };
  getRescaledDataRange(): { min: number; max: number };
}

/** Answers whether the range was replaced (multi-frame, one sample per pixel, one rescale). */
export function widenToAllFrames(image: RangeImage): boolean {
  const size = image.getGeometry().getSize();
  if (size.length() < 4 || size.get(3) < 2 || image.getNumberOfComponents() !== 1 || !image.isConstantRSI()) return false;
  const buffer = image.getBuffer();
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < buffer.length; i++) {
    const v = buffer[i]!;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (!Number.isFinite(min)) return false;
  const rsi = image.getRescaleSlopeAndIntercept();
  const [a, b] = [rsi.apply(min), rsi.apply(max)];
  const stored = { min, max };
  const rescaled = { min: Math.min(a, b), max: Math.max(a, b) };
  // Own properties shadow the class's methods for this image only.
  Object.assign(image, { getDataRange: () => stored, getRescaledDataRange: () => rescaled });
  return true;
}
