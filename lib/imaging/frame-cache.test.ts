import { describe, expect, it, vi } from 'vitest';
import type { CachedFrame } from './frame-cache';

function entry(bytes: number): CachedFrame {
  return {
    frame: { rows: 1, columns: bytes, samplesPerPixel: 1, photometricInterpretation: 'MONOCHROME2', bitsAllocated: 8, bitsStored: 8, pixelRepresentation: 0, data: new Uint8Array(bytes) },
    meta: {} as CachedFrame['meta'],
    palette: null,
  };
}

describe('frameCache', () => {
  it('keeps the most recently used frames within its byte budget', async () => {
    vi.stubEnv('FRAME_CACHE_BYTES', '4000');
    vi.resetModules();
    delete (globalThis as { __imagingFrameCache?: unknown }).__imagingFrameCache;
    const { frameCache } = await import('./frame-cache');
    const cache = frameCache();
    for (const key of ['a', 'b', 'c', 'd']) cache.set(key, entry(1000));
    expect(cache.get('a')).toBeDefined(); // a is now the most recent
    cache.set('e', entry(1000)); // over budget: b, the least recent, goes
    expect(cache.get('b')).toBeUndefined();
    expect(['a', 'c', 'd', 'e'].every((k) => cache.get(k))).toBe(true);
    cache.set('huge', entry(2000)); // more than a quarter of the budget: not cached at all
    expect(cache.get('huge')).toBeUndefined();
    vi.unstubAllEnvs();
    delete (globalThis as { __imagingFrameCache?: unknown }).__imagingFrameCache;
  });

  it('admits a frame on its second request, not its first', async () => {
    vi.resetModules();
    delete (globalThis as { __imagingFrameCache?: unknown }).__imagingFrameCache;
    const { frameCache } = await import('./frame-cache');
    const cache = frameCache();
    expect(cache.admits('x:0')).toBe(false);
    expect(cache.admits('y:0')).toBe(false);
    expect(cache.admits('x:0')).toBe(true);
    // Admitted once: the next miss of the same frame (evicted meanwhile) starts over.
    expect(cache.admits('x:0')).toBe(false);
    expect(cache.admits('y:0')).toBe(true);
    delete (globalThis as { __imagingFrameCache?: unknown }).__imagingFrameCache;
  });
});
