// yauzl does not verify entry checksums, so a flipped bit in a stored entry would pass unseen.
const TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** Incremental CRC-32 (IEEE, as zip uses): feed chunks, read `value`. */
export class Crc32 {
  private crc = 0xffffffff;

  update(chunk: Uint8Array): this {
    let crc = this.crc;
    for (let i = 0; i < chunk.length; i++) crc = TABLE[(crc ^ chunk[i]!) & 0xff]! ^ (crc >>> 8);
    this.crc = crc;
    return this;
  }

  get value(): number {
    return (this.crc ^ 0xffffffff) >>> 0;
  }
}
