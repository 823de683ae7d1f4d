import { z } from 'zod';
import { IMAGE_FORMATS } from './encode';
import { PRESET_NAMES } from './presets';

const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');

/** Query of GET /api/studies/{id}/image. */
export const imageQuerySchema = z
  .object({
    series: z.string().uuid().optional(),
    instance: z.string().uuid().optional(),
    /** Position of the instance in its series (instance number order). */
    index: z.coerce.number().int().min(0).max(100_000).optional(),
    frame: z.coerce.number().int().min(0).max(100_000).default(0),
    /** NIfTI: which axis to slice along, which slice, which volume of a 4D series. */
    axis: z.enum(['axial', 'coronal', 'sagittal']).default('axial'),
    slice: z.coerce.number().int().min(0).max(100_000).optional(),
    t: z.coerce.number().int().min(0).max(100_000).default(0),
    window: z.coerce.number().positive().max(1e7).optional(),
    level: z.coerce.number().min(-1e7).max(1e7).optional(),
    preset: z.enum(PRESET_NAMES as [string, ...string[]]).optional(),
    invert: bool.default(false),
    size: z.coerce.number().int().min(16).max(4096).optional(),
    format: z.enum(IMAGE_FORMATS).default('png'),
  })
  .refine((q) => (q.window === undefined) === (q.level === undefined), { message: 'give window and level together', path: ['window'] })
  .refine((q) => !(q.preset && q.window !== undefined), { message: 'give either a preset or window/level', path: ['preset'] });

export type ImageQuery = z.output<typeof imageQuerySchema>;

export function parseImageQuery(params: URLSearchParams): ImageQuery {
  return imageQuerySchema.parse(Object.fromEntries([...params.entries()].filter(([, v]) => v !== '')));
}
