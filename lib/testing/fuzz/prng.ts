/**
 * A small seeded PRNG (mulberry32) and helpers, so that every fuzz variant can be rebuilt from
 * (seed, file, index) alone: a failure report names those three and nothing else is needed.
 */
export class Rng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** A uint32. */
  u32(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    return this.u32() / 0x1_0000_0000;
  }

  /** An integer in [min, max] (inclusive). */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from an empty list');
    return items[Math.floor(this.next() * items.length)]!;
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  /** One entry of `table`, each with probability proportional to its weight. */
  weighted<T extends { weight: number }>(table: Record<string, T>): [string, T] {
    const entries = Object.entries(table);
    let roll = this.next() * entries.reduce((sum, [, v]) => sum + v.weight, 0);
    for (const entry of entries) {
      roll -= entry[1].weight;
      if (roll < 0) return entry;
    }
    return entries[entries.length - 1]!;
  }
}

/** FNV-1a of a string, for mixing names into seeds. */
export function hashString(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** The seed of one variant: the run's seed, the source file and the variant's index. */
export function variantSeed(seed: number, fileId: string, index: number): number {
  return (hashString(`${seed >>> 0}:${fileId}:${index}`) ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0;
}
