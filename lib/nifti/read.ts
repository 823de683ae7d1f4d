import type { NiftiHeader } from './header';
import { type InspectOptions, type NiftiInspection, scanNifti } from './inspect';
import { type NiftiVolume, type ReadVolumeOptions, readNiftiVolume } from './volume';

export interface NiftiFileBytes extends NiftiInspection {
  /** The whole file after inflating (header, extensions, voxels, any trailing bytes). */
  bytes: Uint8Array;
}

/** Collects chunks into one buffer, sized from the header so a large file is copied once. */
class Collector {
  private buffer = new Uint8Array(64 * 1024);
  length = 0;

  reserve(bytes: number): void {
    if (bytes <= this.buffer.length) return;
    const next = new Uint8Array(bytes);
    next.set(this.buffer.subarray(0, this.length));
    this.buffer = next;
  }

  append(chunk: Uint8Array): void {
    const needed = this.length + chunk.byteLength;
    // Growth beyond the header's size only happens for trailing bytes after the voxels.
    if (needed > this.buffer.length) this.reserve(Math.max(needed, Math.ceil(this.buffer.length * 1.5)));
    this.buffer.set(chunk, this.length);
    this.length = needed;
  }

  result(): Uint8Array {
    return this.length === this.buffer.length ? this.buffer : this.buffer.slice(0, this.length);
  }
}

/**
 * Reads a .nii or .nii.gz from a stream (e.g. fs.createReadStream) into memory, inflating it
 * if needed, with exactly inspectNifti's validation: `maxInflatedBytes` is enforced while
 * inflating (a decompression bomb is stopped at the limit, not after), truncated and non-NIfTI
 * data reject with NiftiParseError, and errors of `source` itself pass through unchanged.
 */
export async function readNiftiBytes(source: AsyncIterable<Uint8Array>, options: InspectOptions): Promise<NiftiFileBytes> {
  const collector = new Collector();
  const inspection = await scanNifti(source, options, {
    header: (header: NiftiHeader) => collector.reserve(header.minFileBytes),
    data: (chunk) => collector.append(chunk),
  });
  return { ...inspection, bytes: collector.result() };
}

/** readNiftiBytes followed by readNiftiVolume. */
export async function readNiftiVolumeFromStream(
  source: AsyncIterable<Uint8Array>,
  options: InspectOptions & ReadVolumeOptions,
): Promise<NiftiVolume> {
  const { bytes } = await readNiftiBytes(source, options);
  return readNiftiVolume(bytes, options);
}
