/**
 * The platform's dotted audit actions mapped onto DICOM PS3.15 A.5 audit message fields
 * (EventID, EventTypeCode, EventActionCode, EventOutcomeIndicator), in one place, so callers keep
 * writing `{ action, outcome }` and every row still carries the standard's vocabulary.
 * Codes are from the DCM coding scheme (PS3.16 CID 400/401 and the A.5.3 message definitions).
 */

export type EventActionCode = 'C' | 'R' | 'U' | 'D' | 'E';
export type EventOutcomeIndicator = 0 | 4 | 8 | 12;
export type AuditOutcomeName = 'success' | 'failure' | 'denied';

export const EVENT_IDS = {
  '110100': 'Application Activity',
  '110101': 'Audit Log Used',
  '110103': 'DICOM Instances Accessed',
  '110104': 'DICOM Instances Transferred',
  '110106': 'Export',
  '110107': 'Import',
  '110110': 'Patient Record',
  '110111': 'Procedure Record',
  '110112': 'Query',
  '110113': 'Security Alert',
  '110114': 'User Authentication',
} as const;
export type EventIdCode = keyof typeof EVENT_IDS;

export const EVENT_TYPE_CODES = {
  '110122': 'Login',
  '110123': 'Logout',
  '110132': 'Use of Restricted Function',
  '110136': 'Security Roles Changed',
  '110137': 'User Security Attributes Changed',
} as const;
export type EventTypeCode = keyof typeof EVENT_TYPE_CODES;

export const OUTCOME_INDICATORS: Record<EventOutcomeIndicator, string> = {
  0: 'Success',
  4: 'Minor failure',
  8: 'Serious failure',
  12: 'Major failure',
};

export interface Ps315Event {
  eventId: EventIdCode;
  eventTypeCode: EventTypeCode | null;
  eventActionCode: EventActionCode;
}

type Rule = [pattern: RegExp, event: Ps315Event];
const rule = (pattern: RegExp, eventId: EventIdCode, eventActionCode: EventActionCode, eventTypeCode: EventTypeCode | null = null): Rule => [
  pattern,
  { eventId, eventActionCode, eventTypeCode },
];

// First match wins; more specific patterns first.
const RULES: Rule[] = [
  rule(/^auth\.sign_in$/, '110114', 'E', '110122'),
  rule(/^auth\.sign_out$/, '110114', 'E', '110123'),
  rule(/^auth\.token$/, '110114', 'E'),
  rule(/^user\.create(_first_admin)?$/, '110113', 'C', '110137'),
  rule(/^user\.update$/, '110113', 'U', '110136'),
  rule(/^users\.list$/, '110113', 'R', '110132'),
  rule(/^api_token\.create$/, '110113', 'C', '110137'),
  rule(/^api_token\.revoke$/, '110113', 'D', '110137'),
  rule(/^api_token\.list$/, '110113', 'R', '110132'),
  rule(/^page\./, '110113', 'E', '110132'),
  rule(/^(study\.audit|audit\.(search|export))$/, '110101', 'R'),
  rule(/^(study\.search|dicomweb\.search_.*)$/, '110112', 'E'),
  rule(/^(study\.read|study\.view)$/, '110110', 'R'),
  rule(/^study\.update$/, '110111', 'U'),
  rule(/^study\.process$/, '110111', 'E'),
  rule(/^(instance\.download|segmentation\.download)$/, '110106', 'R'),
  rule(/^dicomweb\.retrieve_(study|series|instance)$/, '110104', 'R'),
  rule(/^upload\.read$/, '110110', 'R'),
  rule(/^(upload\.|dicomweb\.store$)/, '110107', 'C'),
  rule(/^(study\.image|instance\.|dicomweb\.)/, '110103', 'R'),
  rule(/^segmentation\.request$/, '110111', 'C'),
  rule(/^segmentation\./, '110103', 'R'),
  rule(/^saved_search\.create$/, '110100', 'C'),
  rule(/^saved_search\.update$/, '110100', 'U'),
  rule(/^saved_search\.delete$/, '110100', 'D'),
];

const ACTION_BY_METHOD: Record<string, EventActionCode> = { GET: 'R', HEAD: 'R', POST: 'C', PUT: 'U', PATCH: 'U', DELETE: 'D' };

/** The PS3.15 event an action stands for; unknown actions are Application Activity. */
export function ps315EventOf(action: string): Ps315Event {
  for (const [pattern, event] of RULES) if (pattern.test(action)) return event;
  // withApi names refusals it has no action for "METHOD /path": a use of a restricted function.
  const method = /^([A-Z]+) \//.exec(action)?.[1];
  if (method) return { eventId: '110113', eventTypeCode: '110132', eventActionCode: ACTION_BY_METHOD[method] ?? 'E' };
  return { eventId: '110100', eventTypeCode: null, eventActionCode: 'E' };
}

/**
 * PS3.15's outcome scale: a refused request (bad input, nothing found, a wrong password) is a
 * minor failure, the user may retry; a refusal by policy (role, scope, lock-out) ends the action,
 * a serious failure; a fault of the platform itself is a major failure.
 */
export function outcomeIndicatorOf(outcome: AuditOutcomeName, details?: Record<string, unknown>): EventOutcomeIndicator {
  if (outcome === 'success') return 0;
  if (outcome === 'denied') return 8;
  return details?.reason === 'error' || details?.reason === 'internal' ? 12 : 4;
}
