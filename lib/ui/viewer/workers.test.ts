import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const committed = path.resolve('public/assets/workers');
const installed = path.resolve('node_modules/dwv/dist/assets/workers');

// dwv loads these by URL at run time, so a dwv upgrade without copying them again would fail
// only in the browser, and only for compressed images.
describe('dwv decoder workers in public/assets/workers', () => {
  const workers = readdirSync(installed).filter((f) => f.endsWith('.worker.min.js'));

  it('are all there', () => {
    expect(workers.length).toBeGreaterThan(0);
    expect(readdirSync(committed).filter((f) => f.endsWith('.js')).sort()).toEqual([...workers].sort());
  });

  it.each(workers)('%s is the installed dwv version byte for byte', (file) => {
    expect(readFileSync(path.join(committed, file)).equals(readFileSync(path.join(installed, file)))).toBe(true);
  });
});
