import { readFileSync } from 'node:fs';
import path from 'node:path';
import { dicomCorpus, niftiCorpus } from '@/lib/testing/corpus';
import { dicomTemplate, mutateDicom, withInstanceNumber, type DicomTemplate, type Mutant } from './dicom-mutator';
import { mutateNifti, niftiTemplate, type NiftiTemplate } from './nifti-mutator';
import { Rng, variantSeed } from './prng';

export interface FuzzSource {
  id: string;
  kind: 'dicom' | 'nifti';
  data: Buffer;
}

export interface Variant extends Mutant {
  kind: 'dicom' | 'nifti';
  source: string;
  index: number;
  seed: number;
}

/** Every valid file of the committed fixtures (lib/dicom, lib/nifti __fixtures__). */
export function fixtureSources(): FuzzSource[] {
  return [
    ...dicomCorpus().filter((e) => !e.expect_error).map((e) => ({ id: e.id, kind: 'dicom' as const, data: readFileSync(e.path) })),
    ...niftiCorpus().filter((e) => !e.expect_error).map((e) => ({ id: e.id, kind: 'nifti' as const, data: readFileSync(e.path) })),
  ];
}

/** Every valid file of the shared dev corpus (`<dir>/manifest.json`), the full-size originals. */
export function corpusSources(dir: string): FuzzSource[] {
  const manifest = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as { files: { id: string; kind: 'dicom' | 'nifti'; file: string; expect_error: boolean }[] };
  return manifest.files.filter((f) => !f.expect_error).map((f) => ({ id: f.id, kind: f.kind, data: readFileSync(path.join(dir, f.file)) }));
}

type Template = { source: FuzzSource; dicom?: DicomTemplate; nifti?: NiftiTemplate };

function templates(sources: FuzzSource[], kind: 'dicom' | 'nifti'): Template[] {
  return sources
    .filter((s) => s.kind === kind)
    .map((source) => (kind === 'dicom' ? { source, dicom: dicomTemplate(source.data) } : { source, nifti: niftiTemplate(source.data) }));
}

/**
 * `count` variants of the sources of one kind, round robin over the sources: variant i is
 * mutant floor(i / n) of source i mod n, seeded by (seed, source id, that index) alone.
 */
export function* variants(sources: FuzzSource[], kind: 'dicom' | 'nifti', count: number, seed: number, start = 0): Generator<Variant> {
  const list = templates(sources, kind);
  if (list.length === 0) return;
  for (let i = start; i < start + count; i++) {
    const t = list[i % list.length]!;
    const index = Math.floor(i / list.length);
    yield variantOf(t, kind, index, seed);
  }
}

function variantOf(t: Template, kind: 'dicom' | 'nifti', index: number, seed: number): Variant {
  const s = variantSeed(seed, t.source.id, index);
  const rng = new Rng(s);
  // 9 digits from the variant's seed: a fresh SOP Instance UID per variant (collisions are rare and harmless).
  const mutant = kind === 'dicom' ? mutateDicom(withInstanceNumber(t.dicom!, 100_000_000 + (s % 900_000_000)), rng) : mutateNifti(t.nifti!, rng);
  return { ...mutant, kind, source: t.source.id, index, seed: s };
}

/** Rebuilds one variant from its report (`source` and `index`), for a failing case. */
export function rebuildVariant(sources: FuzzSource[], kind: 'dicom' | 'nifti', source: string, index: number, seed: number): Variant {
  const t = templates(sources.filter((s) => s.id === source), kind)[0];
  if (!t) throw new Error(`no ${kind} source ${source}`);
  return variantOf(t, kind, index, seed);
}

/** One line naming everything needed to rebuild a variant. */
export function describeVariant(v: Variant, runSeed: number): string {
  return `seed=${runSeed} kind=${v.kind} source=${v.source} index=${v.index} (variant seed ${v.seed}; ${v.data.length} bytes): ${v.mutations.join('; ')}`;
}
