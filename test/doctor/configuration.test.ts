import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomSecret } from '../infra/support/app';
import { doctor, doctorText, nobodyUid, writeEnvFile } from './doctor';

/** The configuration checks on temporary env files and on real processes' /proc/PID/environ. */
const dir = mkdtempSync(join(tmpdir(), 'shipshape-doctor-config-'));
const children: ChildProcess[] = [];
const DATABASE_URL = 'postgres://shipshape_app@127.0.0.1:1/shipshape';

afterAll(() => {
  for (const child of children) child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

/** A stand-in for the service's main process: a real process whose environment is the one given. */
function serviceProcess(env: Record<string, string>): number {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { env, stdio: 'ignore' });
  children.push(child);
  return child.pid!;
}

describe('OPS-19: shipshape doctor, configuration', () => {
  test('OPS-19: when the env file is production-ready and 0600, then the configuration checks pass', async () => {
    const envFile = writeEnvFile({ DATABASE_URL }, mkdtempSync(join(dir, 'good-')));
    const run = await doctor(['--only', 'config', '--env-file', envFile]);
    expect(run.finding('config.refusals')).toMatchObject({ status: 'pass', checklist: 'CFG-6' });
    expect(run.finding('config.env-file-permissions').status).toBe('pass');
    expect(run.finding('config.secrets-not-in-environment').status).toBe('skip');
    expect(run.status).toBe(0);
  });

  test('OPS-19: when the env file holds a weak SECRET_KEY and DEBUG on, then the refusal is a failure naming both', async () => {
    const envFile = writeEnvFile(
      { DATABASE_URL, SECRET_KEY: 'changeme', DEBUG: 'true' },
      mkdtempSync(join(dir, 'weak-')),
    );
    const run = await doctor(['--only', 'config', '--env-file', envFile]);
    const refusal = run.finding('config.refusals');
    expect(refusal.status).toBe('fail');
    expect(refusal.detail).toMatch(/SECRET_KEY.*well-known/);
    expect(refusal.detail).toMatch(/DEBUG/);
    expect(run.status).toBe(1);
  });

  test('OPS-19: when the env file is world-readable or owned by another user, then it fails with the chmod fix', async () => {
    const envFile = writeEnvFile({ DATABASE_URL }, mkdtempSync(join(dir, 'open-')));
    chmodSync(envFile, 0o644);
    const readable = await doctor(['--only', 'config.env-file', '--env-file', envFile]);
    expect(readable.finding('config.env-file-permissions').detail).toMatch(/mode 0644/);
    expect(readable.finding('config.env-file-permissions').fix).toMatch(/chmod 0600/);
    expect(readable.status).toBe(1);

    chmodSync(envFile, 0o600);
    chownSync(envFile, nobodyUid(), 0);
    const foreign = await doctor(['--only', 'config.env-file', '--env-file', envFile]);
    expect(foreign.finding('config.env-file-permissions')).toMatchObject({ status: 'fail' });
    expect(foreign.finding('config.env-file-permissions').detail).toMatch(/not root or shipshape/);
  });

  test('OPS-19: when the service reads credentials files but SECRET_KEY is in its environment too, then it fails', async () => {
    const envFile = writeEnvFile({ DATABASE_URL }, mkdtempSync(join(dir, 'creds-')));
    const leaky = serviceProcess({ CREDENTIALS_DIRECTORY: dir, SECRET_KEY: randomSecret() });
    const run = await doctor(['--only', 'config.secrets', '--env-file', envFile, '--pid', String(leaky)]);
    expect(run.finding('config.secrets-not-in-environment').status).toBe('fail');
    expect(run.finding('config.secrets-not-in-environment').detail).toMatch(
      /SECRET_KEY is in its environment/,
    );

    const clean = serviceProcess({ CREDENTIALS_DIRECTORY: dir, APP_ENV: 'production' });
    const good = await doctor(['--only', 'config.secrets', '--env-file', envFile, '--pid', String(clean)]);
    expect(good.finding('config.secrets-not-in-environment').status).toBe('pass');
  });

  test('OPS-19: when no URL, unit or database is given, then those checks skip saying why and none passes', async () => {
    const run = await doctor([
      '--env-file',
      join(dir, 'missing.env'),
      '--unit-file',
      join(dir, 'none.service'),
      '--only',
      'url',
      '--only',
      'host.systemd',
      '--only',
      'db',
    ]);
    for (const finding of run.checks) {
      expect(finding.status).toBe('skip');
      expect(finding.detail.length).toBeGreaterThan(5);
    }
  });

  test('OPS-19: when --textfile is given, then shipshape_doctor_* gauges are written that promtool accepts, and the report is readable', async () => {
    const envFile = writeEnvFile({ DATABASE_URL, DEBUG: 'true' }, mkdtempSync(join(dir, 'text-')));
    const textfile = mkdtempSync(join(dir, 'textfile-'));
    const result = await doctorText(['--only', 'config', '--env-file', envFile, '--textfile', textfile]);
    expect(result.status).toBe(1);
    expect(result.stdout).toMatch(/^FAIL {2}config\.refusals +\[CFG-6\] DEBUG must be off/m);
    expect(result.stdout).toMatch(/^ {6}fix: /m);
    expect(result.stdout).toMatch(/1 failed, .* skipped \(a skip is not a pass\)/);
    const metrics = readFileSync(join(textfile, 'shipshape_doctor.prom'), 'utf8');
    expect(metrics).toMatch(/^shipshape_doctor_checks\{status="fail"\} 1$/m);
    expect(metrics).toMatch(
      /^shipshape_doctor_check_status\{check="config.refusals",checklist="CFG-6"\} 2$/m,
    );
    expect(metrics).toMatch(/^shipshape_doctor_last_run_timestamp_seconds \d{10}$/m);
    const lint = spawnSync('promtool', ['check', 'metrics'], { input: metrics, encoding: 'utf8' });
    expect(lint.stdout + lint.stderr).not.toMatch(/error/i);
    process.stdout.write(`doctor report on a broken configuration:\n${result.stdout}`);
  });
});
