import { randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { makeSeries, replaceAscii } from './dicom-series';

const fixtures = path.resolve('lib/dicom/__fixtures__');

interface FixtureTags {
  PatientName: string;
  PatientID: string;
  StudyDate: string;
  StudyInstanceUID: string;
  SeriesInstanceUID: string;
  SOPInstanceUID: string;
}

function tagsOf(id: string): FixtureTags {
  const manifest = JSON.parse(readFileSync(path.join(fixtures, 'manifest.json'), 'utf8')) as { files: { id: string; reference: { tags: FixtureTags } }[] };
  const entry = manifest.files.find((f) => f.id === id);
  if (!entry) throw new Error(`no DICOM fixture ${id}`);
  return entry.reference.tags;
}

/** Random capital letters and digits, for identifiers that must not collide between tests. */
export function randomTag(length: number): string {
  const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';
  return Array.from({ length }, () => alphabet[randomInt(alphabet.length)]).join('');
}

/**
 * A real corpus DICOM file made into a new patient's new study: fresh UIDs, and the patient's
 * name, id and the study date replaced in place (same lengths, so the encoding stays valid).
 * The name and id are cut or space-padded to the fixture's own lengths.
 */
export function studyFixture(id: string, change: { patientName?: string; patientId?: string; studyDate?: string } = {}) {
  const tags = tagsOf(id);
  const made = makeSeries(readFileSync(path.join(fixtures, `${id}.dcm`)), { study: tags.StudyInstanceUID, series: tags.SeriesInstanceUID, sop: tags.SOPInstanceUID }, 1);
  let data = made.files[0]!;
  // Trailing spaces are DICOM's own padding: readers drop them.
  const fit = (value: string, like: string) => value.padEnd(like.length, ' ').slice(0, like.length);
  const patientName = change.patientName ? fit(change.patientName, tags.PatientName) : tags.PatientName;
  const patientId = fit(change.patientId ?? randomTag(tags.PatientID.length), tags.PatientID);
  data = replaceAscii(data, tags.PatientID, patientId);
  if (patientName !== tags.PatientName) data = replaceAscii(data, tags.PatientName, patientName);
  if (change.studyDate) {
    if (!/^\d{8}$/.test(change.studyDate)) throw new Error('studyDate must be YYYYMMDD');
    data = replaceAscii(data, tags.StudyDate, change.studyDate);
  }
  return { data, patientName: patientName.trimEnd(), patientId: patientId.trimEnd(), studyUid: made.studyUid };
}
