import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomSecret } from '../infra/support/app';
import type { PrivatePostgres } from '../support/postgres';
import { REPO, runCommand, runOk } from '../support/processes';

export interface Finding {
  id: string;
  checklist: string;
  status: 'pass' | 'warn' | 'fail' | 'skip';
  detail: string;
  fix: string;
}

export interface DoctorRun {
  status: number | null;
  ok: boolean;
  checks: Finding[];
  stderr: string;
  finding(id: string): Finding;
}

/** The built doctor as the operator runs it (node -- dist/cli/doctor.js), with --json, and its parsed answer. */
export async function doctor(args: string[], env: NodeJS.ProcessEnv = {}): Promise<DoctorRun> {
  const result = await runCommand(
    process.execPath,
    ['--', join(REPO, 'dist', 'cli', 'doctor.js'), '--json', ...args],
    {
      env: { PATH: process.env.PATH, ...env },
      timeoutMs: 60_000,
    },
  );
  let parsed: { ok: boolean; checks: Finding[] };
  try {
    parsed = JSON.parse(result.stdout);
  } catch {
    throw new Error(`doctor printed no JSON (exit ${result.status}): ${result.stdout}\n${result.stderr}`);
  }
  return {
    status: result.status,
    ok: parsed.ok,
    checks: parsed.checks,
    stderr: result.stderr,
    finding(id) {
      const found = parsed.checks.find((check) => check.id === id);
      if (!found) throw new Error(`no finding ${id} in ${parsed.checks.map((c) => c.id).join(', ')}`);
      return found;
    },
  };
}

/** The human report, for the figures and excerpts a reader checks by eye. */
export async function doctorText(args: string[], env: NodeJS.ProcessEnv = {}) {
  return runCommand(process.execPath, ['--', join(REPO, 'dist', 'cli', 'doctor.js'), ...args], {
    env: { PATH: process.env.PATH, ...env },
    timeoutMs: 60_000,
  });
}

/** An env file like provision.sh writes: production settings, a random key, mode 0600, root's. */
export function writeEnvFile(
  variables: Record<string, string>,
  dir = mkdtempSync(join(tmpdir(), 'shipshape-doctor-')),
): string {
  const path = join(dir, 'shipshape.env');
  const lines = Object.entries({ SECRET_KEY: randomSecret(), TRUST_PROXY: '1', ...variables }).map(
    ([name, value]) => `${name}=${value}`,
  );
  writeFileSync(path, `${lines.join('\n')}\n`, { mode: 0o600 });
  chmodSync(path, 0o600);
  return path;
}

export const nobodyUid = () => Number(execFileSync('id', ['-u', 'nobody']).toString());

/**
 * A private cluster set up as production is: the `shipshape` database, deploy/db-roles.sql's owner and runtime
 * roles, and every migration applied by the owner with the built CLI.
 */
export function provisionLikeProduction(pg: PrivatePostgres) {
  pg.psql('create database shipshape');
  pg.psqlFile(join(REPO, 'deploy', 'db-roles.sql'), 'shipshape');
  runOk(process.execPath, [join(REPO, 'dist', 'cli', 'migrate.js'), 'latest'], {
    env: {
      PATH: process.env.PATH,
      APP_ENV: 'production',
      TRUST_PROXY: '1',
      SECRET_KEY: randomSecret(),
      DATABASE_URL: `postgres://shipshape@127.0.0.1:${pg.port}/shipshape`,
      LOG_LEVEL: 'silent',
    },
  });
}
