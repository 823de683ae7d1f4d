/**
 * Connected components on byte masks, without a label array: a CT volume has 10⁸ voxels and an
 * Int32 label per voxel would cost 400 MB, so masks hold small state values that floods rewrite.
 * Connectivity is 6 in 3D (faces) and 4 in 2D (edges): a diagonal gap separates.
 */

export type Dims = readonly [number, number, number];

/** A growable FIFO of voxel indices; a flood's frontier is a surface, far smaller than the volume. */
class IndexQueue {
  private buffer = new Int32Array(1 << 16);
  private head = 0;
  private tail = 0;
  private size = 0;

  push(value: number) {
    if (this.size === this.buffer.length) {
      const next = new Int32Array(this.buffer.length * 2);
      for (let i = 0; i < this.size; i++) next[i] = this.buffer[(this.head + i) % this.buffer.length]!;
      this.buffer = next;
      this.head = 0;
      this.tail = this.size;
    }
    this.buffer[this.tail] = value;
    this.tail = (this.tail + 1) % this.buffer.length;
    this.size++;
  }

  shift(): number {
    const value = this.buffer[this.head]!;
    this.head = (this.head + 1) % this.buffer.length;
    this.size--;
    return value;
  }

  get length() {
    return this.size;
  }
}

const CHECK_EVERY = 1 << 20;

/**
 * Rewrites every voxel of value `from` that is 6-connected to a seed (seeds included when they
 * hold `from`) to `to`; answers how many voxels changed. Honours `signal` every million voxels.
 */
export function flood3d(mask: Uint8Array, dims: Dims, seeds: Iterable<number>, from: number, to: number, signal?: AbortSignal): number {
  if (from === to) throw new RangeError('flood needs distinct from and to values');
  const [nx, ny, nz] = dims;
  const plane = nx * ny;
  const queue = new IndexQueue();
  let count = 0;
  const visit = (n: number) => {
    if (mask[n] !== from) return;
    mask[n] = to;
    queue.push(n);
    count++;
  };
  for (const seed of seeds) visit(seed);
  let steps = 0;
  while (queue.length > 0) {
    if (++steps % CHECK_EVERY === 0) signal?.throwIfAborted();
    const v = queue.shift();
    const x = v % nx;
    const y = ((v - x) / nx) % ny;
    const z = (v - x - y * nx) / plane;
    if (x > 0) visit(v - 1);
    if (x < nx - 1) visit(v + 1);
    if (y > 0) visit(v - nx);
    if (y < ny - 1) visit(v + nx);
    if (z > 0) visit(v - plane);
    if (z < nz - 1) visit(v + plane);
  }
  return count;
}

export interface Component {
  /** One voxel of the component, to flood it again. */
  seed: number;
  voxels: number;
}

/**
 * Finds the 6-connected components of the voxels holding `from`, rewriting them to `visited`
 * on the way; answers one seed and the size of each, in scan order.
 */
export function components3d(mask: Uint8Array, dims: Dims, from: number, visited: number, signal?: AbortSignal): Component[] {
  const found: Component[] = [];
  for (let v = 0; v < mask.length; v++) {
    if (mask[v] !== from) continue;
    found.push({ seed: v, voxels: flood3d(mask, dims, [v], from, visited, signal) });
  }
  return found;
}

/**
 * Keeps the chosen components of a 0/1 mask: afterwards the mask is 1 exactly on the components
 * `select` picks from all of them, 0 elsewhere. Answers the kept components.
 */
export function keepComponents(mask: Uint8Array, dims: Dims, select: (all: Component[]) => Component[], signal?: AbortSignal): Component[] {
  const kept = select(components3d(mask, dims, 1, 2, signal));
  flood3d(mask, dims, kept.map((c) => c.seed), 2, 3, signal);
  for (let v = 0; v < mask.length; v++) mask[v] = mask[v] === 3 ? 1 : 0;
  return kept;
}

/** The largest component (the first of equal ones in scan order); none for an empty mask. */
export function keepLargestComponent(mask: Uint8Array, dims: Dims, signal?: AbortSignal): Component | null {
  const [largest] = keepComponents(mask, dims, (all) => (all.length ? [all.reduce((a, b) => (b.voxels > a.voxels ? b : a))] : []), signal);
  return largest ?? null;
}

/**
 * Fills holes slice by slice (k fixed): background pixels of a 0/1 mask that are not
 * 4-connected to the slice's border become 1. Answers how many voxels were filled.
 */
export function fillHolesPerSlice(mask: Uint8Array, dims: Dims, signal?: AbortSignal): number {
  const [nx, ny, nz] = dims;
  const plane = nx * ny;
  const outside = new Uint8Array(plane);
  const queue = new IndexQueue();
  let filled = 0;
  for (let z = 0; z < nz; z++) {
    signal?.throwIfAborted();
    const base = z * plane;
    outside.fill(0);
    const seed = (p: number) => {
      if (outside[p] || mask[base + p]) return;
      outside[p] = 1;
      queue.push(p);
    };
    for (let x = 0; x < nx; x++) {
      seed(x);
      seed((ny - 1) * nx + x);
    }
    for (let y = 0; y < ny; y++) {
      seed(y * nx);
      seed(y * nx + nx - 1);
    }
    while (queue.length > 0) {
      const p = queue.shift();
      const x = p % nx;
      const y = (p - x) / nx;
      if (x > 0) seed(p - 1);
      if (x < nx - 1) seed(p + 1);
      if (y > 0) seed(p - nx);
      if (y < ny - 1) seed(p + nx);
    }
    for (let p = 0; p < plane; p++) {
      if (!mask[base + p] && !outside[p]) {
        mask[base + p] = 1;
        filled++;
      }
    }
  }
  return filled;
}

/** Indices of the voxels on the faces of the volume. */
export function* borderVoxels(dims: Dims): Generator<number> {
  const [nx, ny, nz] = dims;
  for (let z = 0; z < nz; z++) {
    for (let y = 0; y < ny; y++) {
      const onFace = z === 0 || z === nz - 1 || y === 0 || y === ny - 1;
      const row = (z * ny + y) * nx;
      if (onFace) {
        for (let x = 0; x < nx; x++) yield row + x;
      } else {
        yield row;
        if (nx > 1) yield row + nx - 1;
      }
    }
  }
}
