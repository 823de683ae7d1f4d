import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const SCRIPT = path.resolve(import.meta.dirname, '../segmentation/__fixtures__/fake-totalsegmentator.mjs');

/**
 * Puts the stand-in TotalSegmentator (lib/segmentation/__fixtures__/fake-totalsegmentator.mjs) on
 * PATH under its real name, as an installed TotalSegmentator would be. `runs()` lists each
 * invocation's pid and arguments; `restore()` puts PATH back.
 */
export function installFakeTotalSegmentator() {
  const bin = mkdtempSync(path.join(os.tmpdir(), 'fake-totalseg-'));
  symlinkSync(SCRIPT, path.join(bin, 'TotalSegmentator'));
  const log = path.join(bin, 'runs.jsonl');
  const saved = { PATH: process.env.PATH, FAKE_TOTALSEG_LOG: process.env.FAKE_TOTALSEG_LOG, FAKE_TOTALSEG_MODE: process.env.FAKE_TOTALSEG_MODE };
  process.env.PATH = `${bin}${path.delimiter}${process.env.PATH ?? ''}`;
  process.env.FAKE_TOTALSEG_LOG = log;
  return {
    bin,
    setMode(mode: 'ok' | 'fail' | 'no-output' | 'hang' | 'wrong-shape') {
      process.env.FAKE_TOTALSEG_MODE = mode;
    },
    runs(): { pid: number; argv: string[] }[] {
      return existsSync(log)
        ? readFileSync(log, 'utf8')
            .split('\n')
            .filter(Boolean)
            .map((line) => JSON.parse(line) as { pid: number; argv: string[] })
        : [];
    },
    restore() {
      for (const [key, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
      rmSync(bin, { recursive: true, force: true });
    },
  };
}
