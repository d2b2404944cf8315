import { spawn } from 'node:child_process';

/** tsx's command line, as `npm run migrate` uses it; `node --import tsx` deadlocks beside OpenTelemetry's loader hooks. */
export const TSX_CLI = 'node_modules/tsx/dist/cli.mjs';

export interface CommandResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs a TypeScript entry point as `npm run …` would (tsx), asynchronously: a synchronous spawn
 * would freeze this process, and with it the embedded database that jest's parent process serves.
 */
export function runScript(
  script: string,
  args: string[],
  env: Record<string, string | undefined>,
): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [TSX_CLI, script, ...args], {
      env: { PATH: process.env.PATH, LOG_LEVEL: 'silent', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 30_000,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}
