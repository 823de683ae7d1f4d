import { z } from 'zod';
import { builtinEngine } from './builtin-engine';
import { classesOf } from './totalsegmentator-classes';
import { totalSegmentatorEngine } from './totalsegmentator';
import type { EngineName, SegmentationEngine } from './types';

export const ENGINES: Record<EngineName, SegmentationEngine> = {
  builtin: builtinEngine,
  totalsegmentator: totalSegmentatorEngine,
};

export const ENGINE_NAMES = Object.keys(ENGINES) as [EngineName, ...EngineName[]];

export const DEFAULT_ENGINE: EngineName = 'builtin';

export function getEngine(name: EngineName): SegmentationEngine {
  return ENGINES[name];
}

const classNames = new Set([...classesOf('total'), ...classesOf('total_mr')]);

/** TotalSegmentator's options, as requested and as a segmentation reports them. */
export const segmentationOptionsSchema = z
  .object({
    fast: z.boolean().optional().describe('The 3 mm model (--fast)'),
    roiSubset: z
      .array(z.string().regex(/^[A-Za-z0-9_]{1,64}$/, 'class names are letters, digits and _'))
      .max(200)
      .refine((names) => names.every((n) => classNames.has(n)), { message: 'unknown TotalSegmentator class name' })
      .optional()
      .describe('Only these TotalSegmentator classes (--roi_subset)'),
    multilabel: z.boolean().optional().describe('One multi-label file (--ml)'),
  })
  .strict();

/** Body of POST /api/studies/{id}/segmentations. */
export const segmentationRequestSchema = z
  .object({
    seriesId: z.string().uuid(),
    engine: z.enum(ENGINE_NAMES).default(DEFAULT_ENGINE),
    options: segmentationOptionsSchema.default({}).describe('TotalSegmentator only; the built-in engine takes none'),
  })
  .strict()
  .refine((r) => r.engine === 'totalsegmentator' || Object.keys(r.options).length === 0, {
    message: 'the built-in engine takes no options',
    path: ['options'],
  });

export type SegmentationRequest = z.output<typeof segmentationRequestSchema>;

/** What GET /api/segmentations/engines lists: which engines exist, run here, and on what. */
export async function describeEngines() {
  return Promise.all(
    ENGINE_NAMES.map(async (name) => {
      const engine = ENGINES[name];
      return {
        name,
        label: engine.label,
        available: await engine.available(),
        default: name === DEFAULT_ENGINE,
        modalities: name === 'builtin' ? ['*'] : ['CT', 'MR'],
        options: name === 'builtin' ? [] : ['fast', 'roiSubset', 'multilabel'],
      };
    }),
  );
}
