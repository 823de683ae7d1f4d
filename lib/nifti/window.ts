import { type NiftiVolume, scaledVolume } from './volume';

// No Node-only APIs in this file.

export interface ValueStats {
  count: number;
  /** NaN and ±Infinity: counted here, left out of min, max and mean. */
  nonFiniteCount: number;
  finiteCount: number;
  /** Over finite values; 0 when there are none. */
  min: number;
  max: number;
  mean: number;
}

type Values = ArrayLike<number> | BigInt64Array | BigUint64Array;

/** Count, min, max and mean of finite values; bigint values are converted with Number(). */
export function valueStats(values: Values): ValueStats {
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  let finite = 0;
  for (let n = 0; n < values.length; n++) {
    const v = Number(values[n]);
    if (!Number.isFinite(v)) continue;
    finite++;
    sum += v;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (finite === 0) return { count: values.length, nonFiniteCount: values.length, finiteCount: 0, min: 0, max: 0, mean: 0 };
  return { count: values.length, nonFiniteCount: values.length - finite, finiteCount: finite, min, max, mean: sum / finite };
}

/** Reorders `a` so that a[k] is the value a full sort would put there (quickselect, O(n)). */
function select(a: Float32Array | Float64Array, k: number): void {
  let lo = 0;
  let hi = a.length - 1;
  // A fixed-seed generator: random pivots avoid the quadratic case on sorted or constant data
  // without making results depend on Math.random.
  let seed = 0x2545f491;
  while (hi > lo) {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    const pivot = a[lo + (seed % (hi - lo + 1))]!;
    let i = lo;
    let j = hi;
    // Hoare partition: stopping on equal values keeps constant runs (zero background) balanced.
    while (i <= j) {
      while (a[i]! < pivot) i++;
      while (a[j]! > pivot) j--;
      if (i <= j) {
        const tmp = a[i]!;
        a[i] = a[j]!;
        a[j] = tmp;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return;
  }
}

/** The finite values, copied; float32 input stays float32 (exact, and half the memory). */
function finiteCopy(values: ArrayLike<number>): Float32Array | Float64Array {
  let finite = 0;
  for (let n = 0; n < values.length; n++) if (Number.isFinite(values[n])) finite++;
  const out = values instanceof Float32Array ? new Float32Array(finite) : new Float64Array(finite);
  for (let n = 0, o = 0; n < values.length; n++) {
    const v = values[n]!;
    if (Number.isFinite(v)) out[o++] = v;
  }
  return out;
}

/** The p-th percentile of finite values, interpolated linearly as numpy's default; reorders `a`. */
function percentileInPlace(a: Float32Array | Float64Array, p: number): number {
  const position = (p / 100) * (a.length - 1);
  const below = Math.floor(position);
  select(a, below);
  const low = a[below]!;
  if (position === below) return low;
  // After selecting `below`, everything to its right is >= a[below]; the next order statistic is their minimum.
  let next = Infinity;
  for (let n = below + 1; n < a.length; n++) if (a[n]! < next) next = a[n]!;
  return low + (next - low) * (position - below);
}

/** Percentiles (0–100) of the finite values, NaN when there are none. */
export function percentiles(values: ArrayLike<number>, ps: readonly number[]): number[] {
  const finite = finiteCopy(values);
  if (finite.length === 0) return ps.map(() => NaN);
  return ps.map((p) => {
    if (!(p >= 0 && p <= 100)) throw new RangeError(`A percentile must be between 0 and 100, got ${p}.`);
    return percentileInPlace(finite, p);
  });
}

export interface DisplayWindow {
  /** Values at or below `low` show black, at or above `high` white. */
  low: number;
  high: number;
  /** The same window as DICOM centre/width (width = high − low). */
  center: number;
  width: number;
  /** Finite range of the values, for a min-max window or a slider's bounds. */
  min: number;
  max: number;
  finiteCount: number;
  nonFiniteCount: number;
}

export interface WindowOptions {
  /** Percentiles bounding the window; default 0.5 and 99.5. */
  lowPercentile?: number;
  highPercentile?: number;
}

/**
 * A robust default window: the 0.5th–99.5th percentile of the finite values, so a few hot
 * voxels (or a float image's outliers) do not compress the tissue into a few grey levels.
 * Falls back to min–max when the percentiles coincide (mostly-background images, labels),
 * and to a width of 1 around the value for constant or empty input, so the result is always
 * a usable window with width > 0.
 */
export function robustWindow(values: ArrayLike<number>, options: WindowOptions = {}): DisplayWindow {
  const lowP = options.lowPercentile ?? 0.5;
  const highP = options.highPercentile ?? 99.5;
  if (!(lowP >= 0 && highP <= 100 && lowP <= highP)) {
    throw new RangeError(`Window percentiles must satisfy 0 <= low <= high <= 100, got ${lowP} and ${highP}.`);
  }
  const stats = valueStats(values);
  const counts = { finiteCount: stats.finiteCount, nonFiniteCount: stats.nonFiniteCount };
  let low = stats.min;
  let high = stats.max;
  if (stats.finiteCount > 0 && stats.min < stats.max) {
    const [pLow, pHigh] = percentiles(values, [lowP, highP]) as [number, number];
    if (pLow < pHigh) {
      low = pLow;
      high = pHigh;
    }
  }
  if (!(low < high)) {
    low -= 0.5;
    high += 0.5;
  }
  return { low, high, center: (low + high) / 2, width: high - low, min: stats.min, max: stats.max, ...counts };
}

/** `robustWindow` over one whole 3D volume (all slices) of a decoded file. */
export function volumeWindow(volume: NiftiVolume, t = 0, options: WindowOptions = {}): DisplayWindow {
  return robustWindow(scaledVolume(volume, t), options);
}
