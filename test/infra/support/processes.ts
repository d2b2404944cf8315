import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { openSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, waitFor } from '../../support/net';

export { freePort };

export const REPO = join(__dirname, '..', '..', '..');

export interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion with stdin closed (CI has none) and returns what it printed. */
export function run(
  command: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string; input?: string } = {},
): RunResult {
  const result = spawnSync(command, args, {
    env: options.env ?? process.env,
    cwd: options.cwd ?? REPO,
    input: options.input ?? '',
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.error) throw result.error;
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** run(), failing with everything the command printed when it exits non-zero. */
export function runOk(...args: Parameters<typeof run>): RunResult {
  const result = run(...args);
  if (result.status !== 0) {
    throw new Error(
      `${args[0]} ${args[1].join(' ')} exited ${result.status}\n${result.stdout}\n${result.stderr}`,
    );
  }
  return result;
}

/** Polls until check() returns a value (not undefined); no timing is asserted, the deadline only stops a hang. */
export const eventually = <T>(what: string, check: () => Promise<T | undefined>, deadlineMs = 30_000) =>
  waitFor(what, deadlineMs, check, 200);

export const randomSecret = () => randomBytes(48).toString('base64url');

export interface AppProcess {
  child: ChildProcess;
  port: number;
  stop(): Promise<number | null>;
}

/** Stops a child with SIGTERM (the app drains) and resolves with its exit status. */
export function stopChild(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => {
    child.once('exit', (code) => resolve(code));
    child.kill('SIGTERM');
  });
}

/** The built app (dist/main.js), started the way production starts it: APP_ENV=production behind one proxy. */
export async function startBuiltApp(options: {
  databaseUrl: string;
  logFile: string;
  env?: Record<string, string>;
}): Promise<AppProcess> {
  const port = await freePort();
  const metricsPort = await freePort();
  const log = openSync(options.logFile, 'a');
  const child = spawn(process.execPath, [join(REPO, 'dist', 'main.js')], {
    cwd: REPO,
    env: {
      PATH: process.env.PATH,
      APP_ENV: 'production',
      SECRET_KEY: randomSecret(),
      DATABASE_URL: options.databaseUrl,
      TRUST_PROXY: '1',
      HOST: '127.0.0.1',
      PORT: String(port),
      METRICS_PORT: String(metricsPort),
      ...options.env,
    },
    stdio: ['ignore', log, log],
  });
  return { child, port, stop: () => stopChild(child) };
}
