import { createHash, randomUUID } from 'node:crypto';

/** A DICOM UID under the UUID root (2.25), as PS3.5 B.2 allows, for data that has none. */
export function uidFromUuid(uuid: string = randomUUID()): string {
  return `2.25.${BigInt(`0x${uuid.replace(/-/g, '')}`).toString()}`;
}

/** Namespace of the name-based UUIDs below (a random UUID made once for this purpose). */
const NAMESPACE = Buffer.from('4f1c2a57a9d64d0e9b3c2e7d51f08a63', 'hex');

/**
 * A name-based (version 5, RFC 4122 §4.3) UUID UID: the same name always gives the same UID, so
 * a file given UIDs by the platform gets the same ones when it is uploaded again.
 */
export function uidFromName(...parts: string[]): string {
  const hash = createHash('sha1').update(NAMESPACE).update(JSON.stringify(parts)).digest();
  const bytes = hash.subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x50;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  return uidFromUuid(bytes.toString('hex'));
}
