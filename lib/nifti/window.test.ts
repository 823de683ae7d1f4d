import { describe, expect, it } from 'vitest';
import { extractSlice, percentiles, readNiftiVolume, robustWindow, valueStats, volumeWindow } from './index';
import { niftiFile } from './test-helpers';

/** numpy.percentile's default (linear interpolation), by sorting: the reference for quickselect. */
function sortedPercentile(values: number[], p: number): number {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b);
  const position = (p / 100) * (sorted.length - 1);
  const below = Math.floor(position);
  const above = Math.min(below + 1, sorted.length - 1);
  return sorted[below]! + (sorted[above]! - sorted[below]!) * (position - below);
}

/** Deterministic pseudo-random numbers, so failures reproduce. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe('valueStats', () => {
  it('counts NaN and infinities instead of averaging them', () => {
    expect(valueStats([1, NaN, 3, Infinity, -Infinity, 5])).toEqual({
      count: 6,
      nonFiniteCount: 3,
      finiteCount: 3,
      min: 1,
      max: 5,
      mean: 3,
    });
  });

  it('handles bigint arrays and empty or all-NaN input', () => {
    expect(valueStats(new BigInt64Array([-2n, 4n]))).toMatchObject({ min: -2, max: 4, mean: 1 });
    expect(valueStats([])).toMatchObject({ count: 0, finiteCount: 0, min: 0, max: 0, mean: 0 });
    expect(valueStats(new Float32Array([NaN, NaN]))).toMatchObject({ count: 2, nonFiniteCount: 2, min: 0, max: 0 });
  });
});

describe('percentiles', () => {
  it.each([
    ['uniform', (r: () => number) => r() * 1000],
    ['mostly zero with a tail', (r: () => number) => (r() < 0.9 ? 0 : r() * 50)],
    ['few distinct values', (r: () => number) => Math.floor(r() * 3)],
    ['with NaN', (r: () => number) => (r() < 0.1 ? NaN : r() - 0.5)],
  ])('match numpy-style linear interpolation on %s data', (_name, draw) => {
    const r = random(42);
    for (const size of [1, 2, 3, 10, 101, 5000]) {
      const values = Array.from({ length: size }, () => draw(r));
      if (!values.some(Number.isFinite)) continue;
      const ps = [0, 0.5, 1, 25, 50, 99.5, 100];
      const actual = percentiles(Float64Array.from(values), ps);
      ps.forEach((p, n) => expect(actual[n], `size ${size}, p ${p}`).toBeCloseTo(sortedPercentile(values, p), 9));
    }
  });

  it('does not reorder the caller’s array and copes with sorted, reversed and constant input', () => {
    const sorted = Float32Array.from({ length: 100_001 }, (_, n) => n);
    expect(percentiles(sorted, [50, 99.5])).toEqual([50_000, 99_500]);
    expect(sorted[0]).toBe(0);
    expect(sorted[100_000]).toBe(100_000);
    expect(percentiles(sorted.slice().reverse(), [0.5])).toEqual([500]);
    expect(percentiles(new Float32Array(100_000).fill(7), [0.5, 99.5])).toEqual([7, 7]);
    expect(percentiles([NaN], [50])).toEqual([NaN]);
    expect(() => percentiles([1], [101])).toThrow(RangeError);
  });
});

describe('robustWindow', () => {
  it('ignores a few extreme values', () => {
    const values = Array.from({ length: 1000 }, (_, n) => n % 100);
    values[0] = 1e6;
    values[1] = -1e6;
    values[2] = NaN;
    const window = robustWindow(values);
    expect(window.min).toBe(-1e6);
    expect(window.max).toBe(1e6);
    expect(window.low).toBeGreaterThanOrEqual(0);
    expect(window.high).toBeLessThanOrEqual(99);
    expect(window).toMatchObject({ nonFiniteCount: 1, finiteCount: 999 });
    expect(window.center).toBe((window.low + window.high) / 2);
    expect(window.width).toBe(window.high - window.low);
    expect(robustWindow(values, { lowPercentile: 0, highPercentile: 100 })).toMatchObject({ low: -1e6, high: 1e6 });
  });

  it('falls back to min-max when the percentiles coincide, and to width 1 for constant or empty input', () => {
    const sparse = new Float32Array(10_000);
    sparse[5] = 100;
    expect(robustWindow(sparse)).toMatchObject({ low: 0, high: 100 });
    expect(robustWindow([5, 5, 5])).toMatchObject({ low: 4.5, high: 5.5, width: 1, center: 5 });
    expect(robustWindow([NaN])).toMatchObject({ low: -0.5, high: 0.5, width: 1, finiteCount: 0, nonFiniteCount: 1 });
    expect(() => robustWindow([1, 2], { lowPercentile: 60, highPercentile: 40 })).toThrow(RangeError);
  });

  it('works on slices and whole volumes', () => {
    const values = Array.from({ length: 4 * 4 * 2 }, (_, n) => n);
    const volume = readNiftiVolume(niftiFile({ dims: [4, 4, 2], datatype: 4, sclSlope: 2, sclInter: 0 }, values));
    const slice = extractSlice(volume, { axis: 'axial', mode: 'voxel', index: 1 });
    const window = robustWindow(slice.data);
    expect(window).toMatchObject({ min: 32, max: 62 });
    expect(window.low).toBeCloseTo(32 + 0.005 * 30, 9);
    expect(window.high).toBeCloseTo(62 - 0.005 * 30, 9);
    expect(volumeWindow(volume)).toMatchObject({ min: 0, max: 62 });
  });
});
