import { writeFileSync } from 'node:fs';

/**
 * Writes a valid NIfTI-1 volume of roughly `megabytes` MB (int16, 256×256×N, a gradient so it is
 * not all zeros). Big files are made at test time instead of being committed.
 */
export function writeNifti(file: string, megabytes: number): number {
  const nx = 256;
  const ny = 256;
  const nz = Math.max(1, Math.round((megabytes * 1024 * 1024) / (nx * ny * 2)));
  const header = Buffer.alloc(352);
  header.writeInt32LE(348, 0);
  header.writeInt16LE(3, 40);
  header.writeInt16LE(nx, 42);
  header.writeInt16LE(ny, 44);
  header.writeInt16LE(nz, 46);
  for (let i = 4; i < 8; i++) header.writeInt16LE(1, 40 + i * 2);
  header.writeInt16LE(4, 70); // datatype int16
  header.writeInt16LE(16, 72); // bitpix
  for (let i = 0; i < 4; i++) header.writeFloatLE(1, 76 + i * 4);
  header.writeFloatLE(352, 108); // vox_offset
  header.writeFloatLE(1, 112); // scl_slope
  header.writeUInt8(2, 123); // xyzt_units: mm
  header.write('n+1\0', 344, 'latin1');
  const slice = Buffer.alloc(nx * ny * 2);
  for (let i = 0; i < nx * ny; i++) slice.writeInt16LE((i % nx) + Math.floor(i / nx), i * 2);
  const data = Buffer.concat([header, ...Array.from({ length: nz }, () => slice)]);
  writeFileSync(file, data);
  return data.length;
}
