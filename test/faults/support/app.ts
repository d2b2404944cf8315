import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../../support/net';
import { isAlive, REPO } from '../../support/processes';

export interface LogLine {
  level: string;
  msg: string;
  pid?: number;
  [key: string]: unknown;
}

export interface AppProcess {
  child: ChildProcess;
  url: string;
  metricsUrl: string;
  logs: LogLine[];
  /** Everything the process wrote that was not a JSON log line (start-up failures, stack traces). */
  stderr: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  waitForLog(predicate: (line: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
  /** Pids of the workers currently serving (those that logged "ready to serve" and no "stopped"). */
  workerPids(): number[];
  kill(signal: NodeJS.Signals): void;
}

/** Migrates the database the way a deploy does: the CLI, as a step before the app starts. */
export function migrate(databaseUrl: string): void {
  execFileSync(process.execPath, [join(REPO, 'dist/cli/migrate.js'), 'latest'], {
    env: { ...process.env, APP_ENV: 'production', DATABASE_URL: databaseUrl, ...productionSecrets() },
    stdio: 'pipe',
  });
}

function productionSecrets() {
  return { SECRET_KEY: randomBytes(48).toString('base64url'), TRUST_PROXY: 'loopback' };
}

/**
 * The built app as production runs it (`node --import ./dist/instrument.js dist/main.js`, APP_ENV=production),
 * with its JSON log lines collected. Rate limits are lifted: the load comes from one loopback address.
 */
export async function startApp(env: Record<string, string>): Promise<AppProcess> {
  if (!existsSync(join(REPO, 'dist/main.js')))
    throw new Error('dist/main.js is missing: run npm run build first');
  const port = await freePort();
  const metricsPort = await freePort();
  const child = spawn(process.execPath, ['--import', './dist/instrument.js', 'dist/main.js'], {
    cwd: REPO,
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      APP_ENV: 'production',
      LOG_LEVEL: 'info',
      PORT: String(port),
      METRICS_PORT: String(metricsPort),
      RATE_LIMIT_MAX: '10000000',
      AUTH_RATE_LIMIT_MAX: '10000000',
      ...productionSecrets(),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: LogLine[] = [];
  const stderr: string[] = [];
  const waiters = new Set<() => void>();
  const collect = (stream: NodeJS.ReadableStream) => {
    let buffered = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      buffered += chunk;
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        try {
          logs.push(JSON.parse(line) as LogLine);
        } catch {
          if (line.trim()) stderr.push(line);
        }
      }
      for (const wake of waiters) wake();
    });
  };
  collect(child.stdout!);
  collect(child.stderr!);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      for (const wake of waiters) wake();
      resolve({ code, signal });
    }),
  );

  const waitForLog = (predicate: (line: LogLine) => boolean, timeoutMs = 30_000) =>
    new Promise<LogLine>((resolve, reject) => {
      let scanned = 0;
      const check = () => {
        let found: LogLine | undefined;
        for (; scanned < logs.length && !found; scanned += 1)
          if (predicate(logs[scanned]!)) found = logs[scanned];
        if (found) {
          done();
          resolve(found);
        } else if (child.exitCode !== null || child.signalCode !== null) {
          done();
          reject(new Error(`the app exited before the awaited log line; stderr: ${stderr.join('\n')}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        const notable = logs.filter((l) => l.msg !== 'request completed').slice(-8);
        reject(new Error(`no such log line within ${timeoutMs} ms; last: ${JSON.stringify(notable)}`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        waiters.delete(check);
      };
      waiters.add(check);
      check();
    });

  const app: AppProcess = {
    child,
    url: `http://127.0.0.1:${port}`,
    metricsUrl: `http://127.0.0.1:${metricsPort}/metrics`,
    logs,
    stderr,
    exited,
    waitForLog,
    workerPids() {
      const stopped = new Set(logs.filter((l) => /^stopped/.test(l.msg)).map((l) => l.pid));
      return logs
        .filter((l) => l.msg === 'ready to serve' && !stopped.has(l.pid))
        .map((l) => l.pid!)
        .filter((pid) => isAlive(pid));
    },
    kill: (signal) => void child.kill(signal),
  };
  return app;
}

/** Waits until `count` workers have said "ready to serve". */
export async function waitForWorkers(app: AppProcess, count: number, timeoutMs = 60_000): Promise<void> {
  await app.waitForLog(() => app.logs.filter((l) => l.msg === 'ready to serve').length >= count, timeoutMs);
}

/** Stops the app if a test left it running; SIGKILL after a grace period. */
export async function stopApp(app: AppProcess | undefined): Promise<void> {
  if (!app || app.child.exitCode !== null || app.child.signalCode !== null) return;
  app.kill('SIGTERM');
  const timer = setTimeout(() => app.kill('SIGKILL'), 15_000);
  await app.exited;
  clearTimeout(timer);
}
