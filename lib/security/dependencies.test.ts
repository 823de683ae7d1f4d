import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

/**
 * Versions below these carry published advisories that matter to this app (request smuggling and
 * middleware bypass in next, session handling in next-auth, SQL injection in drizzle-orm, upload
 * path handling in @tus/server). next-auth is pinned exactly: its betas change behaviour.
 */
const MINIMUM: Record<string, { atLeast?: string; exactly?: string }> = {
  next: { atLeast: '16.2.6' },
  'next-auth': { exactly: '5.0.0-beta.32' },
  'drizzle-orm': { atLeast: '0.45.2' },
  '@tus/server': { atLeast: '2.4.3' },
};

const root = path.resolve(__dirname, '../..');

function installedVersion(name: string): string {
  return (JSON.parse(readFileSync(path.join(root, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
}

/** Compares dotted release versions; a pre-release sorts before its release. */
export function compareVersions(a: string, b: string): number {
  const split = (v: string) => {
    const [release, pre] = v.split('-', 2) as [string, string | undefined];
    return { parts: release.split('.').map(Number), pre };
  };
  const x = split(a);
  const y = split(b);
  for (let i = 0; i < Math.max(x.parts.length, y.parts.length); i++) {
    const d = (x.parts[i] ?? 0) - (y.parts[i] ?? 0);
    if (d !== 0) return Math.sign(d);
  }
  if (x.pre === y.pre) return 0;
  if (x.pre === undefined) return 1;
  if (y.pre === undefined) return -1;
  return x.pre < y.pre ? -1 : 1;
}

describe('dependency versions', () => {
  it('compares versions as releases, pre-releases first', () => {
    expect(compareVersions('16.4.6', '16.2.6')).toBe(1);
    expect(compareVersions('16.2.5', '16.2.6')).toBe(-1);
    expect(compareVersions('0.45.2', '0.45.2')).toBe(0);
    expect(compareVersions('0.100.0', '0.45.2')).toBe(1);
    expect(compareVersions('2.4.3-rc.1', '2.4.3')).toBe(-1);
  });

  for (const [name, rule] of Object.entries(MINIMUM)) {
    it(`${name} is installed at a safe version (${rule.exactly ?? `>= ${rule.atLeast}`})`, () => {
      const version = installedVersion(name);
      if (rule.exactly) expect(version).toBe(rule.exactly);
      if (rule.atLeast) expect(compareVersions(version, rule.atLeast), `${name} ${version}`).toBeGreaterThanOrEqual(0);
    });
  }

  it('package-lock.json resolves the same versions that are installed (npm ci installs what was checked)', () => {
    const lock = JSON.parse(readFileSync(path.join(root, 'package-lock.json'), 'utf8')) as { packages: Record<string, { version?: string }> };
    for (const name of Object.keys(MINIMUM)) expect(lock.packages[`node_modules/${name}`]?.version, name).toBe(installedVersion(name));
  });

  // The advisory database is on the npm registry; machines without it (CI here answers 405 for the
  // bulk endpoint) cannot run the audit, and the test says so instead of passing silently.
  it('npm audit --omit=dev reports no high or critical advisory', async (ctx) => {
    let report: { metadata?: { vulnerabilities?: Record<string, number> } };
    try {
      const { stdout } = await promisify(execFile)('npm', ['audit', '--omit=dev', '--json'], { cwd: root, timeout: 60_000 });
      report = JSON.parse(stdout) as typeof report;
    } catch (error) {
      const stdout = (error as { stdout?: string }).stdout ?? '';
      const parsed = (() => {
        try {
          return JSON.parse(stdout) as typeof report & { error?: unknown };
        } catch {
          return undefined;
        }
      })();
      // npm audit exits 1 when it finds advisories: that report is the answer.
      if (parsed?.metadata?.vulnerabilities) report = parsed;
      else return ctx.skip('the npm advisory endpoint is not reachable from this machine');
    }
    const found = report.metadata?.vulnerabilities ?? {};
    expect({ high: found.high ?? 0, critical: found.critical ?? 0 }).toEqual({ high: 0, critical: 0 });
  }, 90_000);
});
