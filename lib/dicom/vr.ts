/** Value Representations of PS3.5 table 6.2-1. */
export type Vr =
  | 'AE' | 'AS' | 'AT' | 'CS' | 'DA' | 'DS' | 'DT' | 'FD' | 'FL' | 'IS' | 'LO' | 'LT' | 'OB' | 'OD'
  | 'OF' | 'OL' | 'OV' | 'OW' | 'PN' | 'SH' | 'SL' | 'SQ' | 'SS' | 'ST' | 'SV' | 'TM' | 'UC' | 'UI'
  | 'UL' | 'UN' | 'UR' | 'US' | 'UT' | 'UV';

const ALL_VRS: readonly Vr[] = [
  'AE', 'AS', 'AT', 'CS', 'DA', 'DS', 'DT', 'FD', 'FL', 'IS', 'LO', 'LT', 'OB', 'OD', 'OF', 'OL', 'OV',
  'OW', 'PN', 'SH', 'SL', 'SQ', 'SS', 'ST', 'SV', 'TM', 'UC', 'UI', 'UL', 'UN', 'UR', 'US', 'UT', 'UV',
];
const VR_SET: ReadonlySet<string> = new Set(ALL_VRS);

export function isVr(value: string): value is Vr {
  return VR_SET.has(value);
}

/** VRs whose explicit-VR header has 2 reserved bytes and a 4-byte length (PS3.5 7.1.2). */
export const LONG_LENGTH_VRS: ReadonlySet<Vr> = new Set<Vr>(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'UC', 'UN', 'UR', 'UT', 'SV', 'UV']);

/** VRs whose text is in the Specific Character Set; all other string VRs are the default repertoire. */
export const CHARSET_VRS: ReadonlySet<Vr> = new Set<Vr>(['SH', 'LO', 'ST', 'LT', 'PN', 'UC', 'UT']);

/** String VRs that never hold more than one value, so a backslash in them is text, not a delimiter. */
export const SINGLE_VALUE_TEXT_VRS: ReadonlySet<Vr> = new Set<Vr>(['ST', 'LT', 'UT', 'UR']);

export const STRING_VRS: ReadonlySet<Vr> = new Set<Vr>(['AE', 'AS', 'CS', 'DA', 'DT', 'LO', 'LT', 'PN', 'SH', 'ST', 'TM', 'UC', 'UI', 'UR', 'UT']);

/** Bytes per value of the fixed-size binary numeric VRs. */
export const NUMERIC_VR_SIZE: Partial<Record<Vr, number>> = { US: 2, SS: 2, UL: 4, SL: 4, FL: 4, FD: 8, AT: 4, SV: 8, UV: 8 };

export const BINARY_VRS: ReadonlySet<Vr> = new Set<Vr>(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'UN']);
