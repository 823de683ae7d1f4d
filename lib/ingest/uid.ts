import { randomUUID } from 'node:crypto';

/** A DICOM UID under the UUID root (2.25), as PS3.5 B.2 allows, for data that has none. */
export function uidFromUuid(uuid: string = randomUUID()): string {
  return `2.25.${BigInt(`0x${uuid.replace(/-/g, '')}`).toString()}`;
}
