import { describe, expect, it } from 'vitest';
import { EnvError, parseEnv } from '@/lib/env';
import { segmentationRequestSchema } from './engines';

describe('segmentation configuration (lib/env.ts)', () => {
  it('defaults: built-in engine only, 5-minute jobs, 2^27 voxels', () => {
    expect(parseEnv({}).segmentation).toEqual({
      totalSegmentatorPath: undefined,
      totalSegmentatorUrl: undefined,
      totalSegmentatorToken: undefined,
      totalSegmentatorDevice: undefined,
      timeoutSeconds: 300,
      maxVoxels: 2 ** 27,
    });
  });

  it('takes a path, a service URL, a device and limits, and names every bad value', () => {
    const env = parseEnv({
      TOTALSEGMENTATOR_PATH: '/opt/ts/bin/TotalSegmentator',
      TOTALSEGMENTATOR_URL: 'https://seg.hospital.example/segment',
      TOTALSEGMENTATOR_DEVICE: 'gpu:1',
      SEGMENTATION_TIMEOUT_SECONDS: '1800',
      SEGMENTATION_MAX_VOXELS: '1000000',
    }).segmentation;
    expect(env).toMatchObject({ totalSegmentatorPath: '/opt/ts/bin/TotalSegmentator', totalSegmentatorUrl: 'https://seg.hospital.example/segment', totalSegmentatorDevice: 'gpu:1', timeoutSeconds: 1800, maxVoxels: 1_000_000 });
    let problems: string[] = [];
    try {
      parseEnv({ TOTALSEGMENTATOR_URL: 'ftp://x', TOTALSEGMENTATOR_DEVICE: 'tpu', SEGMENTATION_TIMEOUT_SECONDS: '0' });
    } catch (error) {
      problems = (error as EnvError).problems;
    }
    expect(problems.map((p) => p.split(':')[0]).sort()).toEqual(['SEGMENTATION_TIMEOUT_SECONDS', 'TOTALSEGMENTATOR_DEVICE', 'TOTALSEGMENTATOR_URL']);
  });
});

describe('segmentationRequestSchema', () => {
  const seriesId = '6f1c9a62-3d2b-4c55-9e0a-0d9a4b6f1e21';

  it('defaults to the built-in engine without options', () => {
    expect(segmentationRequestSchema.parse({ seriesId })).toEqual({ seriesId, engine: 'builtin', options: {} });
  });

  it('takes TotalSegmentator options and checks class names against its class maps', () => {
    expect(segmentationRequestSchema.parse({ seriesId, engine: 'totalsegmentator', options: { fast: true, roiSubset: ['liver', 'lung_left'], multilabel: true } }).options).toEqual({
      fast: true,
      roiSubset: ['liver', 'lung_left'],
      multilabel: true,
    });
    expect(segmentationRequestSchema.safeParse({ seriesId, engine: 'totalsegmentator', options: { roiSubset: ['liver; rm -rf /'] } }).success).toBe(false);
    expect(segmentationRequestSchema.safeParse({ seriesId, engine: 'totalsegmentator', options: { roiSubset: ['heart_of_gold'] } }).success).toBe(false);
    expect(segmentationRequestSchema.safeParse({ seriesId, engine: 'totalsegmentator', options: { task: 'body' } }).success).toBe(false);
    expect(segmentationRequestSchema.safeParse({ seriesId, options: { fast: true } }).success).toBe(false);
    expect(segmentationRequestSchema.safeParse({ seriesId, extra: 1 }).success).toBe(false);
  });
});
