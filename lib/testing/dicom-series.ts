import { randomInt } from 'node:crypto';

/** Replaces every occurrence of an ASCII string in a buffer with another of the same length. */
export function replaceAscii(buffer: Buffer, from: string, to: string): Buffer {
  if (from.length !== to.length) throw new Error('replacement must keep the length');
  const out = Buffer.from(buffer);
  let at = out.indexOf(from, 0, 'latin1');
  let count = 0;
  while (at >= 0) {
    out.write(to, at, 'latin1');
    count++;
    at = out.indexOf(from, at + to.length, 'latin1');
  }
  if (count === 0) throw new Error(`"${from}" not found`);
  return out;
}

/** A UID of the same length as `uid` whose last component is a fresh number (no leading zero). */
export function variantUid(uid: string, n: number = randomInt(1, 10 ** 6)): string {
  const lastDot = uid.lastIndexOf('.');
  const width = uid.length - lastDot - 1;
  if (width < 2) throw new Error('UID last component too short to vary');
  const digits = `9${String(n % 10 ** (width - 1)).padStart(width - 1, '0')}`;
  return uid.slice(0, lastDot + 1) + digits;
}

/**
 * Makes a synthetic series from one real DICOM file by giving each copy its own SOP Instance UID
 * (and the whole series fresh Study/Series UIDs); the pixel data and everything else stay real.
 */
export function makeSeries(
  base: Buffer,
  uids: { study: string; series: string; sop: string },
  count: number,
): { files: Buffer[]; studyUid: string; seriesUid: string; sopUids: string[] } {
  const studyUid = variantUid(uids.study);
  const seriesUid = variantUid(uids.series);
  let template = replaceAscii(base, uids.study, studyUid);
  template = replaceAscii(template, uids.series, seriesUid);
  const offset = randomInt(0, 10 ** 4);
  const sopUids = Array.from({ length: count }, (_, i) => variantUid(uids.sop, offset * 1000 + i));
  return { files: sopUids.map((sop) => replaceAscii(template, uids.sop, sop)), studyUid, seriesUid, sopUids };
}
