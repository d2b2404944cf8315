import { execFileSync } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './net';

const BIN = '/usr/lib/postgresql/15/bin';

export interface PrivatePostgres {
  url: string;
  port: number;
  /** Runs one statement as the postgres superuser and returns its output, trimmed. */
  psql(sql: string, database?: string): string;
  /** Runs a SQL file as the postgres superuser, stopping at its first error. */
  psqlFile(file: string, database?: string): string;
  start(): void;
  /** `pg_ctl -m fast stop`: what an operator's restart or a failover does to open connections. */
  stop(): void;
  destroy(): void;
}

/** Runs a PostgreSQL 15 program as the postgres OS user, as its tools expect (needs root). */
export const asPostgres = (command: string, args: string[]) =>
  execFileSync('runuser', ['-u', 'postgres', '--', join(BIN, command), ...args], { stdio: 'pipe' });

/**
 * psql as the postgres OS user, unaligned and quiet, stopping at the first error; `host` is 127.0.0.1 or the
 * socket directory (a cluster with peer authentication on the socket only lets the superuser in there).
 */
export const psqlAs = (where: { host: string; port: number; database: string }, input: string[]) =>
  asPostgres('psql', [
    '-XtAq',
    '-h',
    where.host,
    '-p',
    String(where.port),
    '-d',
    where.database,
    '-v',
    'ON_ERROR_STOP=1',
    ...input,
  ])
    .toString()
    .trim();

/**
 * A throw-away PostgreSQL 15 cluster of our own on a free port, so a test can stop and start it without
 * touching the shared cluster on 5432 that other suites use. Trust auth on loopback only; needs root (runuser).
 */
export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const dir = mkdtempSync(join(tmpdir(), 'shipshape-pg-'));
  chownSync(dir, Number(execFileSync('id', ['-u', 'postgres']).toString()), 0);
  const data = join(dir, 'data');
  asPostgres('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync']);
  const port = await freePort();
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`;
  const pg: PrivatePostgres = {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    psql: (sql, database = 'postgres') => psqlAs({ host: '127.0.0.1', port, database }, ['-c', sql]),
    psqlFile: (file, database = 'postgres') => psqlAs({ host: '127.0.0.1', port, database }, ['-f', file]),
    start: () =>
      void asPostgres('pg_ctl', ['-D', data, '-o', options, '-l', join(dir, 'log'), '-w', 'start']),
    stop: () => void asPostgres('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']),
    destroy() {
      try {
        pg.stop();
      } catch {
        // already stopped
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  pg.start();
  return pg;
}
