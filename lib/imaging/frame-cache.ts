import type { DicomMetadata } from '@/lib/dicom';
import type { Palette } from './render';
import type { DecodedFrame } from './types';

export interface CachedFrame {
  frame: DecodedFrame;
  meta: DicomMetadata;
  palette: Palette | null;
}

const MAX_BYTES = Number(process.env.FRAME_CACHE_BYTES ?? 256 * 1024 * 1024);
// Frames asked for once and not (yet) kept: keys only.
const MAX_SEEN = 16_384;

/**
 * Decoded frames, least recently used first out. Window/level and invert changes re-render the
 * same frame many times in a row; decoding (JPEG, JPEG 2000…) dominates the cost of each render.
 */
class FrameCache {
  private entries = new Map<string, CachedFrame & { bytes: number }>();
  private total = 0;
  private seen = new Map<string, true>();

  /**
   * Whether a frame that missed should be kept once decoded: from its second request on. Most
   * frames are rendered once (a series scrolled through at its default window, thumbnails, an
   * image for the model); keeping each would cost a copy into shared memory per image and push
   * out the frames that are being re-windowed, which are asked for again and again.
   */
  admits(key: string): boolean {
    if (this.seen.delete(key)) return true;
    this.seen.set(key, true);
    if (this.seen.size > MAX_SEEN) this.seen.delete(this.seen.keys().next().value!);
    return false;
  }

  get(key: string): CachedFrame | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry;
  }

  set(key: string, value: CachedFrame): void {
    const bytes = value.frame.data.byteLength;
    if (bytes > MAX_BYTES / 4) return;
    const previous = this.entries.get(key);
    if (previous) this.total -= previous.bytes;
    this.entries.delete(key);
    this.entries.set(key, { ...value, bytes });
    this.total += bytes;
    for (const [oldest, entry] of this.entries) {
      if (this.total <= MAX_BYTES) break;
      this.entries.delete(oldest);
      this.total -= entry.bytes;
    }
  }
}

const globalForCache = globalThis as typeof globalThis & { __imagingFrameCache?: FrameCache };

export function frameCache(): FrameCache {
  globalForCache.__imagingFrameCache ??= new FrameCache();
  return globalForCache.__imagingFrameCache;
}
