import { describe, expect, it } from 'vitest';
import { outcomeIndicatorOf, ps315EventOf } from './events';

describe('ps315EventOf', () => {
  it.each([
    ['auth.sign_in', '110114', 'E', '110122'],
    ['auth.sign_out', '110114', 'E', '110123'],
    ['study.search', '110112', 'E', null],
    ['dicomweb.search_study', '110112', 'E', null],
    ['study.read', '110110', 'R', null],
    ['study.update', '110111', 'U', null],
    ['study.image', '110103', 'R', null],
    ['instance.tags', '110103', 'R', null],
    ['instance.download', '110106', 'R', null],
    ['dicomweb.retrieve_instance', '110104', 'R', null],
    ['dicomweb.retrieve_frames', '110103', 'R', null],
    ['upload.ingest', '110107', 'C', null],
    ['dicomweb.store', '110107', 'C', null],
    ['segmentation.request', '110111', 'C', null],
    ['audit.export', '110101', 'R', null],
    ['user.update', '110113', 'U', '110136'],
    ['api_token.revoke', '110113', 'D', '110137'],
    ['saved_search.delete', '110100', 'D', null],
    ['DELETE /api/tokens/abc', '110113', 'D', '110132'],
    ['something.new', '110100', 'E', null],
  ])('%s → EventID %s, action %s, type %s', (action, eventId, eventActionCode, eventTypeCode) => {
    expect(ps315EventOf(action)).toEqual({ eventId, eventActionCode, eventTypeCode });
  });
});

describe('outcomeIndicatorOf', () => {
  it('maps success/failure/denied onto 0/4/8 and platform faults onto 12', () => {
    expect(outcomeIndicatorOf('success')).toBe(0);
    expect(outcomeIndicatorOf('failure', { reason: 'not_found' })).toBe(4);
    expect(outcomeIndicatorOf('denied', { reason: 'role' })).toBe(8);
    expect(outcomeIndicatorOf('failure', { reason: 'internal' })).toBe(12);
  });
});
