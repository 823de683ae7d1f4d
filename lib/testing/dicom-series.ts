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

/**
 * A fresh UID of the same length as `uid` (so it can replace it in place): the UUID-derived root
 * 2.25 followed by random digits, as many as fit. Collisions are as unlikely as the length allows.
 */
export function variantUid(uid: string): string {
  const width = uid.length - '2.25.'.length;
  if (width < 6) throw new Error('UID too short to vary');
  let digits = String(randomInt(1, 10));
  while (digits.length < width) digits += String(randomInt(0, 10));
  return `2.25.${digits}`;
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
  const sopUids = Array.from({ length: count }, () => variantUid(uids.sop));
  return { files: sopUids.map((sop) => replaceAscii(template, uids.sop, sop)), studyUid, seriesUid, sopUids };
}
