import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../../support/net';
import { REPO, stopChild } from '../../support/processes';

export const randomSecret = () => randomBytes(48).toString('base64url');

/**
 * The env file provision.sh leaves on a host (mode 0600): production settings with a fresh secret, the app on
 * 127.0.0.1:`port` behind a proxy, metrics on a free port; `extra` lines come last, so they win.
 */
export async function writeHostEnvFile(
  path: string,
  options: { databaseUrl: string; port: number; workers: number; extra?: string[] },
) {
  const lines = [
    'APP_ENV=production',
    `SECRET_KEY=${randomSecret()}`,
    `DATABASE_URL=${options.databaseUrl}`,
    'TRUST_PROXY=1',
    'HOST=127.0.0.1',
    `PORT=${options.port}`,
    `METRICS_PORT=${await freePort()}`,
    `WEB_CONCURRENCY=${options.workers}`,
    ...(options.extra ?? []),
    '',
  ];
  writeFileSync(path, lines.join('\n'), { mode: 0o600 });
}

export interface AppProcess {
  child: ChildProcess;
  port: number;
  stop(): Promise<number | null>;
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
