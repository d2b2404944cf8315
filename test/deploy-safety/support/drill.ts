import { existsSync, mkdtempSync, readFileSync, readlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { randomSecret, writeHostEnvFile } from '../../infra/support/app';
import { send } from '../../infra/support/http';
import { type PrivateNginx, privateNginx } from '../../infra/support/nginx';
import { freshDatabase } from '../../infra/support/postgres';
import { freePort } from '../../support/net';
import { type CommandResult, REPO, runCommand, terminatePid } from '../../support/processes';
import { reportFigure } from '../../support/report';
import { waitFor } from '../../support/waiting';
import { installSystemctlStub } from './vps';

/** A temporary VPS: a root for releases, the service's env file, PostgreSQL 15, a stubbed systemctl, nginx. */
export interface Host {
  work: string;
  root: string;
  envFile: string;
  appLog: string;
  pidFile: string;
  env: Record<string, string> & { SHIPSHAPE_SMOKE_URL: string };
  database: Awaited<ReturnType<typeof freshDatabase>>;
  nginx?: PrivateNginx;
  script(name: string, args: string[], env?: Record<string, string>): Promise<CommandResult>;
  current(): string;
  cleanUp(): Promise<void>;
}

/** The lines of a deploy script's output a drill's log shows. */
const WORTH_PRINTING =
  /verify: (FAILED|passed)|smoke: (FAILED|passed)|error:|rolling back|nginx reloaded|-> /;

export async function temporaryHost(prefix: string): Promise<Host> {
  const work = mkdtempSync(join(tmpdir(), `shipshape-${prefix}-`));
  const root = join(work, 'srv');
  const bin = join(work, 'bin');
  const envFile = join(work, 'shipshape.env');
  const appLog = join(work, 'app.log');
  const pidFile = join(work, 'shipshape.pid');
  installSystemctlStub(bin);
  const database = await freshDatabase(`shipshape_${prefix.replace(/\W/g, '_')}`);
  const port = await freePort();
  // Two workers (one would run without the cluster primary, so no reload): the reload rolls them in turn.
  await writeHostEnvFile(envFile, {
    databaseUrl: database.url,
    port,
    workers: 2,
    extra: [
      'LOG_LEVEL=info',
      // The drill's steady traffic comes from a handful of addresses: the app's own per-IP limits would
      // answer 429 long before the release under test is judged.
      'RATE_LIMIT_MAX=10000000',
      'AUTH_RATE_LIMIT_MAX=10000',
    ],
  });
  const env: Host['env'] = {
    PATH: `${bin}:${process.env.PATH}`,
    SHIPSHAPE_ROOT: root,
    SHIPSHAPE_ENV_FILE: envFile,
    SHIPSHAPE_SMOKE_URL: `http://127.0.0.1:${port}`,
    SHIPSHAPE_SLOT_ENV_DIR: work,
    STUB_PIDFILE: pidFile,
    STUB_LOG: appLog,
    SMOKE_LOG_FILE: appLog,
    // The default: a reload that arrives while the previous one still rolls waits for it (docs/operations.md).
    SMOKE_TIMEOUT: '60',
  };
  const host: Host = {
    work,
    root,
    envFile,
    appLog,
    pidFile,
    env,
    database,
    async script(name, args, extra = {}) {
      await reloadsSettled(host);
      const started = Date.now();
      // Asynchronous: the drill's load generator runs in this process and must keep sending meanwhile.
      const result = await runCommand(join(REPO, 'deploy', name), args, {
        env: { ...process.env, ...env, ...extra },
      });
      reportFigure(
        `$ ${name} ${args.join(' ')} -> exit ${result.status} in ${((Date.now() - started) / 1000).toFixed(1)} s`,
      );
      process.stdout.write(
        result.stderr
          .split('\n')
          .filter((line) => WORTH_PRINTING.test(line))
          .join('\n'),
      );
      return result;
    },
    current: () => basename(readlinkSync(join(root, 'current'))),
    async cleanUp() {
      await host.nginx?.stop();
      for (const file of [pidFile, `${pidFile}.blue`, `${pidFile}.green`]) {
        if (!existsSync(file)) continue;
        const pid = Number(readFileSync(file, 'utf8').trim());
        await terminatePid(pid);
      }
      await database.drop();
    },
  };
  return host;
}

/** The app finishes a reload before the next deploy step sends another (docs/operations.md says the same). */
async function reloadsSettled(host: Host): Promise<void> {
  const reloads = `${host.pidFile}.reloads`;
  const sent = existsSync(reloads) ? readFileSync(reloads, 'utf8').split('\n').filter(Boolean).length : 0;
  await waitFor(
    `the app to finish ${sent} reload(s)`,
    async () => {
      const log = existsSync(host.appLog) ? readFileSync(host.appLog, 'utf8') : '';
      return (log.match(/"msg":"reload(: done| stopped| cancelled)/g)?.length ?? 0) >= sent
        ? true
        : undefined;
    },
    { timeoutMs: 120_000 },
  );
}

/** nginx rendered from the shipped template and snippets, in front of `upstream` (or an include file). */
export async function frontNginx(host: Host, upstream: string, env: Record<string, string> = {}) {
  const nginx = await privateNginx(upstream, { extraEnv: env });
  expect(nginx.test().status).toBe(0);
  await nginx.start();
  host.nginx = nginx;
  return nginx;
}

/** A user with a token, and `notes` notes of `bodyBytes` each to list: the drill's traffic reads them. */
export async function readerWithNotes(apiBase: string, notes: number, bodyBytes: number) {
  const email = `reader-${randomSecret().slice(0, 8).toLowerCase()}@example.test`;
  const password = randomSecret();
  const json = { 'content-type': 'application/json' };
  const registered = await send(`${apiBase}/api/v1/auth/register`, {
    method: 'POST',
    headers: json,
    body: JSON.stringify({ email, password }),
  });
  expect(registered.status).toBe(201);
  const login = await send(`${apiBase}/api/v1/auth/login`, {
    method: 'POST',
    headers: json,
    body: JSON.stringify({ email, password }),
  });
  const token = JSON.parse(login.text).token as string;
  const auth = { ...json, authorization: `Bearer ${token}` };
  for (let n = 0; n < notes; n++) {
    const made = await send(`${apiBase}/api/v1/notes`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({ title: `note ${n}`, body: 'x'.repeat(bodyBytes) }),
    });
    expect(made.status).toBe(201);
  }
  return { email, password, token };
}
