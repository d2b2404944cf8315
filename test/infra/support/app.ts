import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { openSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../../support/net';
import { REPO, stopChild } from '../../support/processes';

export const randomSecret = () => randomBytes(48).toString('base64url');

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
