/**
 * QIDO-RS (PS3.18 10.6): search for studies, series and instances by DICOM attributes, answered
 * in the DICOM JSON model from the catalogue (no file is opened).
 */
import { getDb } from '@/db';
import { qidoInstances, qidoSeries, qidoStudies, type QidoFilter, type QidoInstanceRow, type QidoSeriesRow, type QidoStudyRow, type TextMatch } from '@/db/queries/dicomweb';
import { badRequest } from '@/lib/api/errors';
import { auditPatientAccess, type Actor } from '@/lib/audit';
import { parseTag, tagHex, tagOfKeyword } from '@/lib/dicom';
import { attribute, type DicomJsonDataset } from './dicom-json';
import { retrieveUrl } from './paths';

export type QidoLevel = 'study' | 'series' | 'instance';

export const QIDO_DEFAULT_LIMIT = 100;
export const QIDO_MAX_LIMIT = 1000;

type Row = Partial<QidoStudyRow> & Partial<QidoSeriesRow> & Partial<QidoInstanceRow> & Pick<QidoStudyRow, 'studyId' | 'patientId' | 'studyInstanceUid'>;
type Meta = Record<string, unknown>;

interface AttributeDef {
  keyword: string;
  tag: number;
  vr: string;
  level: QidoLevel;
  /** Returned without includefield. */
  default: boolean;
  value: (row: Row, base: string) => unknown;
}

const m = (key: string) => (row: Row) => (row.metadata as Meta | undefined)?.[key] ?? null;

const ATTRIBUTES: AttributeDef[] = [
  // Study level (patient attributes travel with the study, PS3.18 table 10.6.3-3).
  { keyword: 'StudyDate', tag: 0x00080020, vr: 'DA', level: 'study', default: true, value: (r) => r.studyDate },
  { keyword: 'StudyTime', tag: 0x00080030, vr: 'TM', level: 'study', default: true, value: (r) => r.studyTime },
  { keyword: 'AccessionNumber', tag: 0x00080050, vr: 'SH', level: 'study', default: true, value: (r) => r.accessionNumber },
  { keyword: 'InstanceAvailability', tag: 0x00080056, vr: 'CS', level: 'study', default: true, value: () => 'ONLINE' },
  { keyword: 'ModalitiesInStudy', tag: 0x00080061, vr: 'CS', level: 'study', default: true, value: (r) => r.modalities },
  { keyword: 'ReferringPhysicianName', tag: 0x00080090, vr: 'PN', level: 'study', default: true, value: (r) => r.referringPhysician },
  { keyword: 'StudyDescription', tag: 0x00081030, vr: 'LO', level: 'study', default: true, value: (r) => r.studyDescription },
  { keyword: 'PatientName', tag: 0x00100010, vr: 'PN', level: 'study', default: true, value: (r) => r.patientName },
  { keyword: 'PatientID', tag: 0x00100020, vr: 'LO', level: 'study', default: true, value: (r) => r.patientKey },
  { keyword: 'PatientBirthDate', tag: 0x00100030, vr: 'DA', level: 'study', default: true, value: (r) => r.patientBirthDate },
  { keyword: 'PatientSex', tag: 0x00100040, vr: 'CS', level: 'study', default: true, value: (r) => r.patientSex },
  { keyword: 'StudyInstanceUID', tag: 0x0020000d, vr: 'UI', level: 'study', default: true, value: (r) => r.studyInstanceUid },
  { keyword: 'NumberOfStudyRelatedSeries', tag: 0x00201206, vr: 'IS', level: 'study', default: true, value: (r) => r.seriesCount },
  { keyword: 'NumberOfStudyRelatedInstances', tag: 0x00201208, vr: 'IS', level: 'study', default: true, value: (r) => r.instanceCount },
  // Series level.
  { keyword: 'Modality', tag: 0x00080060, vr: 'CS', level: 'series', default: true, value: (r) => r.modality },
  { keyword: 'SeriesDescription', tag: 0x0008103e, vr: 'LO', level: 'series', default: true, value: (r) => r.seriesDescription },
  { keyword: 'BodyPartExamined', tag: 0x00180015, vr: 'CS', level: 'series', default: true, value: (r) => r.bodyPart },
  { keyword: 'SeriesInstanceUID', tag: 0x0020000e, vr: 'UI', level: 'series', default: true, value: (r) => r.seriesInstanceUid },
  { keyword: 'SeriesNumber', tag: 0x00200011, vr: 'IS', level: 'series', default: true, value: (r) => r.seriesNumber },
  { keyword: 'NumberOfSeriesRelatedInstances', tag: 0x00201209, vr: 'IS', level: 'series', default: true, value: (r) => r.instanceCount },
  // Instance level.
  { keyword: 'SOPClassUID', tag: 0x00080016, vr: 'UI', level: 'instance', default: true, value: (r) => r.sopClassUid },
  { keyword: 'SOPInstanceUID', tag: 0x00080018, vr: 'UI', level: 'instance', default: true, value: (r) => r.sopInstanceUid },
  { keyword: 'AvailableTransferSyntaxUID', tag: 0x00083002, vr: 'UI', level: 'instance', default: true, value: (r) => (r.format === 'nifti' ? '1.2.840.10008.1.2.1' : r.transferSyntaxUid) },
  { keyword: 'InstanceNumber', tag: 0x00200013, vr: 'IS', level: 'instance', default: true, value: (r) => r.instanceNumber },
  { keyword: 'Rows', tag: 0x00280010, vr: 'US', level: 'instance', default: true, value: (r) => r.rows },
  { keyword: 'Columns', tag: 0x00280011, vr: 'US', level: 'instance', default: true, value: (r) => r.columns },
  { keyword: 'NumberOfFrames', tag: 0x00280008, vr: 'IS', level: 'instance', default: true, value: (r) => r.frames },
  { keyword: 'BitsAllocated', tag: 0x00280100, vr: 'US', level: 'instance', default: true, value: m('bitsAllocated') },
  { keyword: 'SamplesPerPixel', tag: 0x00280002, vr: 'US', level: 'instance', default: false, value: m('samplesPerPixel') },
  { keyword: 'PhotometricInterpretation', tag: 0x00280004, vr: 'CS', level: 'instance', default: false, value: m('photometricInterpretation') },
  { keyword: 'BitsStored', tag: 0x00280101, vr: 'US', level: 'instance', default: false, value: m('bitsStored') },
  { keyword: 'PixelRepresentation', tag: 0x00280103, vr: 'US', level: 'instance', default: false, value: m('pixelRepresentation') },
  { keyword: 'PixelSpacing', tag: 0x00280030, vr: 'DS', level: 'instance', default: false, value: m('pixelSpacing') },
  { keyword: 'SliceThickness', tag: 0x00180050, vr: 'DS', level: 'instance', default: false, value: m('sliceThickness') },
  { keyword: 'ImagePositionPatient', tag: 0x00200032, vr: 'DS', level: 'instance', default: false, value: m('imagePositionPatient') },
  { keyword: 'ImageOrientationPatient', tag: 0x00200037, vr: 'DS', level: 'instance', default: false, value: m('imageOrientationPatient') },
  { keyword: 'SliceLocation', tag: 0x00201041, vr: 'DS', level: 'instance', default: false, value: m('sliceLocation') },
  { keyword: 'WindowCenter', tag: 0x00281050, vr: 'DS', level: 'instance', default: false, value: m('windowCenter') },
  { keyword: 'WindowWidth', tag: 0x00281051, vr: 'DS', level: 'instance', default: false, value: m('windowWidth') },
  { keyword: 'RescaleIntercept', tag: 0x00281052, vr: 'DS', level: 'instance', default: false, value: m('rescaleIntercept') },
  { keyword: 'RescaleSlope', tag: 0x00281053, vr: 'DS', level: 'instance', default: false, value: m('rescaleSlope') },
];

const BY_TAG = new Map(ATTRIBUTES.map((a) => [a.tag, a]));
const LEVEL_RANK: Record<QidoLevel, number> = { study: 0, series: 1, instance: 2 };

/** A query key or includefield value as a tag: a keyword (PatientName) or hex (00100010). */
function resolveTag(key: string): number | undefined {
  return tagOfKeyword(key) ?? BY_TAG.get(ATTRIBUTES.find((a) => a.keyword === key)?.tag ?? -1)?.tag ?? (/^[0-9a-f]{8}$/i.test(key) ? parseTag(key) : undefined);
}

const UID = /^[0-9]+(\.[0-9]+)*$/;

function uidList(value: string, key: string): string[] {
  const uids = value.split(/[\\,]/).map((v) => v.trim()).filter(Boolean);
  for (const uid of uids) if (!UID.test(uid) || uid.length > 64) throw badRequest(`${key}: "${uid}" is not a UID`);
  return uids;
}

function textMatch(value: string): TextMatch | undefined {
  if (value === '' || value === '*') return undefined;
  return /[*?]/.test(value) ? { kind: 'wildcard', pattern: value } : { kind: 'exact', value };
}

function dateRange(value: string): { from?: string; to?: string } {
  const match = /^(\d{8})?(-)?(\d{8})?$/.exec(value.trim());
  if (!match || (!match[1] && !match[3])) throw badRequest(`StudyDate: "${value}" is not a date (YYYYMMDD) or a range (YYYYMMDD-YYYYMMDD)`);
  const [, from, dash, to] = match;
  if (!dash) return { from, to: from };
  if (from && to && from > to) throw badRequest('StudyDate: the range ends before it starts');
  return { from, to };
}

function integer(value: string, key: string, min: number, max: number): number {
  if (!/^-?\d+$/.test(value.trim())) throw badRequest(`${key} must be an integer`);
  const n = Number(value);
  if (n < min || n > max) throw badRequest(`${key} must be between ${min} and ${max}`);
  return n;
}

const CONTROL_KEYS = new Set(['limit', 'offset', 'includefield', 'fuzzymatching', 'orderby']);

export interface QidoRequest {
  filter: QidoFilter;
  limit: number;
  offset: number;
  /** Extra attributes to return (`all` returns every one the catalogue has). */
  include: Set<number> | 'all';
  /** Valid keys this server cannot match on; they are ignored and named in a Warning header. */
  ignored: string[];
}

/** Parses a QIDO-RS query string; bad values are a 400, unknown attribute names too. */
export function parseQidoQuery(params: URLSearchParams, scope: { studyInstanceUid?: string; seriesInstanceUid?: string } = {}): QidoRequest {
  const filter: QidoFilter = {};
  const include = new Set<number>();
  let includeAll = false;
  let limit = QIDO_DEFAULT_LIMIT;
  let offset = 0;
  const ignored: string[] = [];
  for (const [rawKey, rawValue] of params) {
    const key = rawKey.trim();
    const value = rawValue.trim();
    if (CONTROL_KEYS.has(key)) {
      if (key === 'limit') limit = integer(value, 'limit', 1, QIDO_MAX_LIMIT);
      else if (key === 'offset') offset = integer(value, 'offset', 0, 10_000_000);
      else if (key === 'includefield') {
        for (const field of value.split(',').map((f) => f.trim()).filter(Boolean)) {
          if (field === 'all') includeAll = true;
          else {
            const tag = resolveTag(field);
            if (tag === undefined) throw badRequest(`includefield: "${field}" is not a DICOM keyword or tag`);
            include.add(tag);
          }
        }
      }
      continue;
    }
    const tag = resolveTag(key);
    if (tag === undefined) throw badRequest(`Unknown query key "${key}": use DICOM keywords (e.g. PatientID) or tags (00100020)`);
    switch (tagHex(tag)) {
      case '0020000D': filter.studyInstanceUids = uidList(value, key); break;
      case '00100020': filter.patientId = textMatch(value); break;
      case '00100010': filter.patientName = textMatch(value); break;
      case '00080050': filter.accessionNumber = textMatch(value); break;
      case '00081030': filter.studyDescription = textMatch(value); break;
      case '00080090': filter.referringPhysicianName = textMatch(value); break;
      case '00080020': {
        const { from, to } = dateRange(value);
        filter.studyDateFrom = from;
        filter.studyDateTo = to;
        break;
      }
      case '00080061': filter.modalitiesInStudy = value.split(/[\\,]/).map((v) => v.trim().toUpperCase()).filter(Boolean); break;
      case '0020000E': filter.seriesInstanceUids = uidList(value, key); break;
      case '00080060': filter.modality = value.split(/[\\,]/).map((v) => v.trim().toUpperCase()).filter(Boolean); break;
      case '00200011': filter.seriesNumber = integer(value, key, -2147483648, 2147483647); break;
      case '0008103E': filter.seriesDescription = textMatch(value); break;
      case '00080018': filter.sopInstanceUids = uidList(value, key); break;
      case '00080016': filter.sopClassUids = uidList(value, key); break;
      case '00200013': filter.instanceNumber = integer(value, key, -2147483648, 2147483647); break;
      default:
        ignored.push(key);
    }
  }
  if (scope.studyInstanceUid) filter.studyInstanceUids = [scope.studyInstanceUid];
  if (scope.seriesInstanceUid) filter.seriesInstanceUids = [scope.seriesInstanceUid];
  return { filter, limit, offset, include: includeAll ? 'all' : include, ignored };
}

function toJson(row: Row, level: QidoLevel, include: QidoRequest['include'], base: string): DicomJsonDataset {
  const out: DicomJsonDataset = {};
  for (const def of ATTRIBUTES) {
    if (LEVEL_RANK[def.level] > LEVEL_RANK[level]) continue;
    // Study and series counts describe their own level only.
    if (def.keyword === 'NumberOfStudyRelatedSeries' || def.keyword === 'NumberOfStudyRelatedInstances') {
      if (level !== 'study') continue;
    }
    if (def.keyword === 'NumberOfSeriesRelatedInstances' && level !== 'series') continue;
    if (!def.default && include !== 'all' && !include.has(def.tag)) continue;
    out[tagHex(def.tag)] = attribute(def.vr, def.value(row, base));
  }
  out['00081190'] = attribute('UR', retrieveUrl(base, row.studyInstanceUid, level === 'study' ? undefined : row.seriesInstanceUid, level === 'instance' ? row.sopInstanceUid : undefined));
  // Tags sorted as in a dataset, which some clients expect when they read the JSON as a dataset.
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => a.localeCompare(b)));
}

export interface QidoResult {
  body: DicomJsonDataset[];
  /** More matches than `limit` exist beyond this page. */
  truncated: boolean;
  ignored: string[];
}

/** Runs a search at one level; audited as an access to patient data. */
export async function searchDicomweb(actor: Actor, level: QidoLevel, request: QidoRequest, base: string): Promise<QidoResult> {
  const page = { limit: request.limit + 1, offset: request.offset };
  const rows = await auditPatientAccess(
    actor,
    {
      action: `dicomweb.search_${level}`,
      resourceType: level,
      describe: (r) => {
        const studiesSeen = new Set(r.map((x) => x.studyId));
        const patientsSeen = new Set(r.map((x) => x.patientId));
        return { studyId: studiesSeen.size === 1 ? r[0]!.studyId : null, patientId: patientsSeen.size === 1 ? r[0]!.patientId : null };
      },
    },
    async (): Promise<Row[]> => {
      const db = await getDb();
      if (level === 'study') return qidoStudies(db, request.filter, page);
      if (level === 'series') return qidoSeries(db, request.filter, page);
      return qidoInstances(db, request.filter, page);
    },
  );
  const truncated = rows.length > request.limit;
  return { body: rows.slice(0, request.limit).map((row) => toJson(row, level, request.include, base)), truncated, ignored: request.ignored };
}
