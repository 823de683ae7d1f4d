import { open } from 'node:fs/promises';

/** The first `length` bytes of a file (fewer when it is shorter), without reading the rest. */
export async function readFileHead(file: string, length: number): Promise<Uint8Array> {
  const handle = await open(file, 'r');
  try {
    const buffer = Buffer.alloc(length);
    const { bytesRead } = await handle.read(buffer, 0, length, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}
