import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { waitFor } from './waiting';

/** The repository's root, whatever the working directory of the run. */
export const REPO = resolve(__dirname, '..', '..');

/** tsx's command line, as `npm run migrate` uses it; `node --import tsx` deadlocks beside OpenTelemetry's loader hooks. */
export const TSX_CLI = 'node_modules/tsx/dist/cli.mjs';

export interface CommandResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export interface CommandOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Written to stdin, which is then closed; stdin is closed at once without it (CI has none). */
  input?: string;
  timeoutMs?: number;
}

/**
 * Runs a command to completion, asynchronously, and resolves with its status and output whatever the status.
 * Asynchronous on purpose: a synchronous spawn would freeze this process, and with it the embedded database
 * that jest's parent process serves.
 */
export function runCommand(
  command: string,
  args: string[],
  options: CommandOptions = {},
): Promise<CommandResult> {
  return new Promise((done, fail) => {
    const child = spawn(command, args, {
      cwd: options.cwd ?? REPO,
      env: options.env ?? process.env,
      stdio: ['pipe', 'pipe', 'pipe'],
      timeout: options.timeoutMs,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.on('error', fail);
    child.on('close', (status) => done({ status, stdout, stderr }));
    // A command that exits without reading its stdin closes the pipe first (EPIPE); its status tells the story.
    child.stdin.on('error', () => {});
    child.stdin.end(options.input ?? '');
  });
}

/**
 * Runs a command to completion synchronously, stdin closed, and returns what it printed: for suites that run
 * beside no embedded database (infra), where a shell script's steps read best in order.
 */
export function run(
  command: string,
  args: string[],
  options: Omit<CommandOptions, 'timeoutMs'> = {},
): CommandResult {
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
export function runOk(...args: Parameters<typeof run>): CommandResult {
  const result = run(...args);
  if (result.status !== 0) {
    throw new Error(
      `${args[0]} ${args[1].join(' ')} exited ${result.status}\n${result.stdout}\n${result.stderr}`,
    );
  }
  return result;
}

/** Runs a TypeScript entry point as `npm run …` would (tsx), with only PATH and a silent log level inherited. */
export function runScript(
  script: string,
  args: string[],
  env: Record<string, string | undefined>,
): Promise<CommandResult> {
  return runCommand(process.execPath, [TSX_CLI, script, ...args], {
    env: { PATH: process.env.PATH, LOG_LEVEL: 'silent', ...env },
    timeoutMs: 30_000,
  });
}

/** Stops a child with SIGTERM (the app drains) and resolves with its exit status. */
export function stopChild(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => {
    child.once('exit', (code) => resolve(code));
    child.kill('SIGTERM');
  });
}

/** Whether a process of that id exists (signal 0 checks without sending anything). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Sends SIGTERM to a process the test did not spawn (a pid file's) and waits until it is gone; gone already is fine. */
export async function terminatePid(pid: number, timeoutMs = 30_000): Promise<void> {
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  await waitFor(`pid ${pid} to exit`, async () => (isAlive(pid) ? undefined : true), {
    timeoutMs,
    intervalMs: 200,
  });
}
