import { describe, expect, it } from 'vitest';
import { WINDOW_PRESETS } from '@/lib/imaging/presets';
import type { TagElement } from './types';
import { buildViewQuery, filterTags, formatDicomDate, formatMeasurement, formatPersonName, formatStats, instanceFileUrl, loadUnits, matchPreset, parseViewQuery, presetWindow } from './view-state';

const SERIES = '1b4e28ba-2fa1-11d2-883f-0016d3cca427';

describe('view query', () => {
  it('round-trips series, slice, window and invert', () => {
    const text = buildViewQuery({ series: SERIES, slice: 12, window: { center: -600, width: 1500 }, invert: true });
    expect(text).toBe(`series=${SERIES}&slice=12&wc=-600&ww=1500&invert=1`);
    expect(parseViewQuery(new URLSearchParams(text))).toEqual({ series: SERIES, slice: 12, window: { center: -600, width: 1500 }, invert: true });
  });

  it('keeps the instance of a series of multi-frame files', () => {
    expect(parseViewQuery(new URLSearchParams(`series=${SERIES}&instance=2&slice=3`))).toEqual({ series: SERIES, instance: 2, slice: 3 });
    expect(buildViewQuery({ series: SERIES, instance: 2 })).toBe(`series=${SERIES}&instance=2`);
  });

  it('keeps the time point of a 4D volume, and names it in the file URL (0-based there)', () => {
    expect(parseViewQuery(new URLSearchParams(`series=${SERIES}&t=3&slice=7`))).toEqual({ series: SERIES, time: 3, slice: 7 });
    expect(buildViewQuery({ series: SERIES, time: 3, slice: 7 })).toBe(`series=${SERIES}&t=3&slice=7`);
    expect(parseViewQuery(new URLSearchParams('t=0'))).toEqual({});
    const volume = { fileUrl: '/api/instances/x/file', timePoints: 5 };
    expect(instanceFileUrl(volume, 1)).toBe('/api/instances/x/file');
    expect(instanceFileUrl(volume, 3)).toBe('/api/instances/x/file?t=2');
    expect(instanceFileUrl(volume, 9)).toBe('/api/instances/x/file?t=4');
    expect(instanceFileUrl({ fileUrl: '/api/instances/y/file', timePoints: 1 }, 3)).toBe('/api/instances/y/file');
  });

  it('rounds dragged windows so that links stay readable', () => {
    expect(buildViewQuery({ window: { center: 40.123456, width: 399.87 } })).toBe('wc=40.12&ww=400');
    // Small ranges keep their digits: a dose window in Gy, a NIfTI float volume.
    expect(buildViewQuery({ window: { center: 1.0245678, width: 0.0045912 } })).toBe('wc=1.025&ww=0.004591');
  });

  it('drops values that could not come from the viewer', () => {
    const query = parseViewQuery(new URLSearchParams('series=../../etc&slice=0&wc=40&ww=-5&invert=yes'));
    expect(query).toEqual({});
    expect(parseViewQuery(new URLSearchParams('slice=2.5&wc=abc&ww=10'))).toEqual({});
    expect(parseViewQuery(new URLSearchParams('wc=40'))).toEqual({});
  });
});

describe('loadUnits', () => {
  it('stacks single-frame files and keeps multi-frame files apart', () => {
    const single = [{ frames: 1 }, { frames: 1 }, { frames: 1 }];
    expect(loadUnits(single)).toEqual([single]);
    const cine = [{ frames: 30 }, { frames: 12 }];
    expect(loadUnits(cine)).toEqual([[cine[0]], [cine[1]]]);
    expect(loadUnits([{ frames: 48 }])).toEqual([[{ frames: 48 }]]);
    expect(loadUnits([])).toEqual([]);
  });
});

describe('presets', () => {
  it('uses the presets of lib/imaging and recognises them', () => {
    expect(presetWindow('lung')).toEqual({ center: WINDOW_PRESETS.lung.center, width: WINDOW_PRESETS.lung.width });
    expect(matchPreset({ center: 400, width: 1800 })).toBe('bone');
    expect(matchPreset({ center: 401.2, width: 1800 })).toBeNull();
    expect(matchPreset(null)).toBeNull();
  });
});

describe('formatting', () => {
  it('formats DICOM dates, old-style ones included', () => {
    expect(formatDicomDate('20040119')).toBe('2004-01-19');
    expect(formatDicomDate('1993.04.30')).toBe('1993-04-30');
    expect(formatDicomDate('')).toBe('');
    expect(formatDicomDate('2004')).toBe('2004');
  });

  it('formats person names', () => {
    expect(formatPersonName('Doe^Jane')).toBe('Doe, Jane');
    expect(formatPersonName('Doe^Jane^Q^Dr^III')).toBe('Doe, Dr Jane Q III');
    expect(formatPersonName('Yamada^Tarou=山田^太郎')).toBe('Yamada, Tarou');
    expect(formatPersonName(null)).toBe('');
  });

  it("formats dwv's measurement units", () => {
    expect(formatMeasurement(42.3456, 'unit.mm')).toBe('42.35 mm');
    expect(formatMeasurement(120, 'unit.mm2')).toBe('120.00 mm²');
    expect(formatMeasurement(3, 'unit.pixel')).toBe('3.00 px');
    expect(formatMeasurement(1.5, 'GY')).toBe('1.50 Gy');
    expect(formatMeasurement(null, 'unit.mm')).toBe('');
    expect(formatStats({ mean: 40.25, stdDev: 12.1, min: -120, max: 90, unit: 'HU' })).toBe('mean 40.3 ± 12.1 HU, min -120, max 90.0');
  });
});

describe('filterTags', () => {
  const el = (tag: string, keyword: string, vr: string, value: string, depth = 0): TagElement => ({ tag, keyword, vr, value, depth });
  const tags = [
    el('(0008,0060)', 'Modality', 'CS', 'CT'),
    el('(0008,1140)', 'ReferencedImageSequence', 'SQ', '1 item(s)'),
    el('(0008,1150)', 'ReferencedSOPClassUID', 'UI', '1.2.840.10008.5.1.4.1.1.2', 1),
    el('(0008,1155)', 'ReferencedSOPInstanceUID', 'UI', '1.2.3.4', 1),
    el('(0010,0010)', 'PatientName', 'PN', 'Doe^Jane'),
  ];

  it('matches keyword, value and tag, with or without punctuation', () => {
    expect(filterTags(tags, 'patientname').map((t) => t.keyword)).toEqual(['PatientName']);
    expect(filterTags(tags, 'doe').map((t) => t.keyword)).toEqual(['PatientName']);
    expect(filterTags(tags, '0008,0060').map((t) => t.keyword)).toEqual(['Modality']);
    expect(filterTags(tags, '00100010').map((t) => t.keyword)).toEqual(['PatientName']);
    expect(filterTags(tags, '  ')).toHaveLength(tags.length);
  });

  it('keeps the enclosing sequence of a nested match, and the items of a matching sequence', () => {
    expect(filterTags(tags, '1.2.3.4').map((t) => t.keyword)).toEqual(['ReferencedImageSequence', 'ReferencedSOPInstanceUID']);
    expect(filterTags(tags, 'ReferencedImageSequence').map((t) => t.keyword)).toEqual(['ReferencedImageSequence', 'ReferencedSOPClassUID', 'ReferencedSOPInstanceUID']);
  });
});
