import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * A throwaway PostgreSQL cluster of its own, for tests that stop, kill and restart the database
 * (the shared one on 5432 serves other tests and must never go down). initdb refuses to run as
 * root, so as root the cluster belongs to the `postgres` user.
 */

const BIN = ['/usr/lib/postgresql/17/bin', '/usr/lib/postgresql/16/bin', '/usr/lib/postgresql/15/bin'].find((d) => existsSync(path.join(d, 'initdb')));

export function privatePostgresAvailable(): string | null {
  if (!BIN) return 'PostgreSQL server binaries (initdb, pg_ctl) not found under /usr/lib/postgresql';
  if (process.getuid?.() === 0) {
    try {
      execFileSync('id', ['-u', 'postgres'], { stdio: 'ignore' });
    } catch {
      return 'running as root but there is no postgres user to own the cluster';
    }
  }
  return null;
}

export interface PrivatePostgres {
  port: number;
  dir: string;
  /** postgres://postgres@127.0.0.1:<port>/<database> */
  url(database?: string): string;
  start(): void;
  /** `immediate`: like a crash (no shutdown checkpoint, clients cut off); `fast`: a clean stop. */
  stop(mode?: 'immediate' | 'fast'): void;
  createDatabase(name: string): void;
  /** Stops the cluster and removes its files. */
  destroy(): void;
}

export function createPrivatePostgres(port: number): PrivatePostgres {
  const reason = privatePostgresAvailable();
  if (reason) throw new Error(reason);
  const asRoot = process.getuid?.() === 0;
  const dir = mkdtempSync(path.join(os.tmpdir(), `private-pg-${port}-`));
  const owner = asRoot ? Number(execFileSync('id', ['-u', 'postgres']).toString().trim()) : null;
  if (owner !== null) chownSync(dir, owner, Number(execFileSync('id', ['-g', 'postgres']).toString().trim()));
  const run = (bin: string, args: string[]) => {
    const full = path.join(BIN!, bin);
    return asRoot ? execFileSync('runuser', ['-u', 'postgres', '--', full, ...args], { stdio: 'pipe' }) : execFileSync(full, args, { stdio: 'pipe' });
  };
  const data = path.join(dir, 'data');
  run('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync']);
  let running = false;
  const handle: PrivatePostgres = {
    port,
    dir,
    url: (database = 'postgres') => `postgres://postgres@127.0.0.1:${port}/${database}`,
    start() {
      run('pg_ctl', ['-D', data, '-l', path.join(dir, 'log'), '-w', '-t', '60', '-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200`, 'start']);
      running = true;
    },
    stop(mode = 'immediate') {
      run('pg_ctl', ['-D', data, '-m', mode, '-w', 'stop']);
      running = false;
    },
    createDatabase(name) {
      execFileSync(path.join(BIN!, 'psql'), ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', '-v', 'ON_ERROR_STOP=1', '-c', `create database "${name}"`], { stdio: 'pipe' });
    },
    destroy() {
      if (running) {
        try {
          handle.stop('immediate');
        } catch {
          // Already down.
        }
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return handle;
}
