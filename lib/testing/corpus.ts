import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

/** One entry of a fixture manifest (a trimmed copy of ../shared/corpus/manifest.json). */
export interface CorpusEntry {
  id: string;
  file: string;
  kind: 'dicom' | 'nifti';
  categories: string[];
  expect_error: boolean;
  reference: Record<string, unknown> & { tags?: Record<string, unknown> };
  /** Absolute path of the fixture copy. */
  path: string;
}

const root = path.resolve(import.meta.dirname, '..');

function load(dir: string, kind: 'dicom' | 'nifti'): CorpusEntry[] {
  const folder = path.join(root, dir, '__fixtures__');
  const manifest = JSON.parse(readFileSync(path.join(folder, 'manifest.json'), 'utf8')) as { files: Omit<CorpusEntry, 'path'>[] } | Omit<CorpusEntry, 'path'>[];
  const files = Array.isArray(manifest) ? manifest : manifest.files;
  return files
    .filter((f) => (f.kind ?? kind) === kind)
    .map((f) => ({ ...f, kind, categories: f.categories ?? [], path: path.join(folder, path.basename(f.file ?? `${f.id}`)) }))
    .filter((f) => existsSync(f.path));
}

/** The committed DICOM fixtures (lib/dicom/__fixtures__) with their reference values. */
export function dicomCorpus(): CorpusEntry[] {
  return load('dicom', 'dicom');
}

/** The committed NIfTI fixtures (lib/nifti/__fixtures__) with their reference values. */
export function niftiCorpus(): CorpusEntry[] {
  return load('nifti', 'nifti');
}
