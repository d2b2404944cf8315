import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type AppProcess, startBuiltApp } from '../infra/support/app';
import { send } from '../infra/support/http';
import { type PrivateNginx, privateNginx } from '../infra/support/nginx';
import { freePort } from '../support/net';
import { type PrivatePostgres, startPrivatePostgres } from '../support/postgres';
import { runOk } from '../support/processes';
import { waitFor } from '../support/waiting';
import { doctor, doctorText, provisionLikeProduction, writeEnvFile } from './doctor';

/**
 * The checks through the public URL against the real thing: the built app on PostgreSQL 15 as the runtime role,
 * behind the shipped nginx site with a certificate this test generates. Each test breaks one piece of nginx
 * (edits its private copy and reloads it) and the doctor must find it; the good deployment has no failure.
 */
jest.setTimeout(180_000);

const dir = mkdtempSync(join(tmpdir(), 'shipshape-doctor-url-'));
let pg: PrivatePostgres;
let app: AppProcess;
let nginx: PrivateNginx;
let metricsPort = 0;
let envFile = '';
const originals = new Map<string, string>();
let certificateDays = 0;

const url = () => `https://localhost:${nginx.httpsPort}/`;
const urlArgs = () => [
  '--url',
  url(),
  '--http-url',
  `http://localhost:${nginx.httpPort}/`,
  '--ca-file',
  join(nginx.dir, 'cert.pem'),
];
/** Every check that looks at a deployment rather than at this host. */
const everyDeploymentCheck = () => [
  ...['config', 'db', 'url', 'integrations'].flatMap((group) => ['--only', group]),
  '--env-file',
  envFile,
  ...urlArgs(),
];
const runtimeUrl = () => `postgres://shipshape_app@127.0.0.1:${pg.port}/shipshape`;
function certificate(days: number) {
  certificateDays = days;
  runOk('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-days',
    String(days),
    '-subj',
    '/CN=localhost',
    '-addext',
    'subjectAltName=DNS:localhost,IP:127.0.0.1',
    '-keyout',
    join(nginx.dir, 'key.pem'),
    '-out',
    join(nginx.dir, 'cert.pem'),
  ]);
}

const workers = (master: string) =>
  execFileSync('ps', ['-o', 'pid=', '--ppid', master], { encoding: 'utf8' }).split(/\s+/).filter(Boolean);

/** nginx -t, then SIGHUP to the master, then waits until its workers are all new ones (the new configuration). */
async function reload() {
  const check = nginx.test();
  if (check.status !== 0) throw new Error(check.output);
  const master = readFileSync(join(nginx.dir, 'nginx.pid'), 'utf8').trim();
  const before = workers(master);
  process.kill(Number(master), 'SIGHUP');
  await waitFor('nginx to replace its workers', async () => {
    const now = workers(master);
    return now.length > 0 && now.every((pid) => !before.includes(pid)) ? true : undefined;
  });
}

/** Edits a file of nginx's private prefix, keeping the original for restore(). */
function edit(relative: string, change: (text: string) => string) {
  const path = join(nginx.dir, relative);
  const text = readFileSync(path, 'utf8');
  if (!originals.has(path)) originals.set(path, text);
  const changed = change(text);
  if (changed === text) throw new Error(`the edit changed nothing in ${relative}`);
  writeFileSync(path, changed);
}

async function restore() {
  for (const [path, text] of originals) writeFileSync(path, text);
  originals.clear();
  if (certificateDays !== 90) certificate(90);
  await reload();
}

beforeAll(async () => {
  pg = await startPrivatePostgres();
  provisionLikeProduction(pg);
  metricsPort = await freePort();
  app = await startBuiltApp({
    databaseUrl: runtimeUrl(),
    logFile: join(dir, 'app.log'),
    env: { WEB_CONCURRENCY: '1', METRICS_PORT: String(metricsPort) },
  });
  await waitFor('the app to be ready', async () =>
    (await send(`http://127.0.0.1:${app.port}/health/ready`)).status === 200 ? true : undefined,
  );
  nginx = await privateNginx(`127.0.0.1:${app.port}`);
  certificate(90);
  await nginx.start();
  envFile = writeEnvFile({ DATABASE_URL: runtimeUrl(), WEB_CONCURRENCY: '1' }, dir);
});

afterAll(async () => {
  await nginx?.stop();
  await app?.stop();
  pg?.destroy();
  rmSync(dir, { recursive: true, force: true });
});

afterEach(async () => {
  if (originals.size > 0 || certificateDays !== 90) await restore();
});

describe('OPS-19: shipshape doctor, through the public URL', () => {
  test('OPS-19: when the shipped nginx serves the app with a 90-day certificate, then no check of config, db, url or integrations fails', async () => {
    const run = await doctor(everyDeploymentCheck());
    expect(run.checks.filter((c) => c.status === 'fail' || c.status === 'warn')).toEqual([]);
    for (const id of [
      'url.https-redirect',
      'url.hsts',
      'url.security-headers',
      'url.tls-version',
      'url.certificate',
      'url.metrics-private',
      'url.server-tokens',
      'url.health',
    ])
      expect(run.finding(id).status).toBe('pass');
    expect(run.status).toBe(0);
    const text = await doctorText(everyDeploymentCheck());
    process.stdout.write(`doctor report on a good deployment:\n${text.stdout}`);
  });

  test('OPS-19: when nginx sends no HSTS, then url.hsts fails', async () => {
    edit('conf/snippets/shipshape-security-headers.conf', (t) =>
      t.replace(/^add_header Strict-Transport-Security.*$/m, ''),
    );
    edit('conf/snippets/shipshape-proxy.conf', (t) => `${t}\nproxy_hide_header Strict-Transport-Security;\n`);
    await reload();
    const run = await doctor(['--only', 'url.hsts', ...urlArgs()]);
    expect(run.finding('url.hsts')).toMatchObject({
      status: 'fail',
      checklist: 'SEC-4',
      detail: 'no Strict-Transport-Security header',
    });
    expect(run.status).toBe(1);
  });

  test('OPS-19: when plain HTTP serves instead of redirecting, then url.https-redirect fails', async () => {
    edit('conf/sites-enabled/shipshape.conf', (t) =>
      t.replace(/return 301 https:\/\/[^;]+;/, "return 200 'plain';"),
    );
    await reload();
    const run = await doctor(['--only', 'url.https-redirect', ...urlArgs()]);
    expect(run.finding('url.https-redirect').status).toBe('fail');
    expect(run.finding('url.https-redirect').detail).toMatch(/answers 200, not a redirect to https/);
  });

  test('OPS-19: when /metrics is proxied to the metrics listener, then url.metrics-private fails', async () => {
    edit('conf/sites-enabled/shipshape.conf', (t) =>
      t.replace(
        /location = \/metrics \{\s*return 404;\s*\}/,
        `location = /metrics { proxy_pass http://127.0.0.1:${metricsPort}/metrics; }`,
      ),
    );
    await reload();
    const run = await doctor(['--only', 'url.metrics', ...urlArgs()]);
    expect(run.finding('url.metrics-private')).toMatchObject({ status: 'fail', checklist: 'OBS-5' });
  });

  test('OPS-19: when server_tokens is on, then url.server-tokens fails naming the nginx version', async () => {
    edit('conf/snippets/shipshape-security-headers.conf', (t) =>
      t.replace(/^server_tokens off;/m, 'server_tokens on;'),
    );
    await reload();
    const run = await doctor(['--only', 'url.server-tokens', ...urlArgs()]);
    expect(run.finding('url.server-tokens').status).toBe('fail');
    expect(run.finding('url.server-tokens').detail).toMatch(/Server: nginx\/\d/);
  });

  test('OPS-19: when the certificate expires in 14 days, then a warning; in 3 days, then a failure', async () => {
    certificate(14);
    await reload();
    const soon = await doctor(['--only', 'url.certificate', ...urlArgs()]);
    expect(soon.finding('url.certificate').status).toBe('warn');
    expect(soon.status).toBe(0);
    certificate(3);
    await reload();
    const imminent = await doctor(['--only', 'url.certificate', ...urlArgs()]);
    expect(imminent.finding('url.certificate')).toMatchObject({ status: 'fail', checklist: 'PXY-3' });
    expect(imminent.finding('url.certificate').detail).toMatch(/\(2\.\d days\)|\(3\.0 days\)/);
  });

  test('OPS-19: when the certificate is not trusted by the client, then url.certificate fails saying so', async () => {
    const run = await doctor(['--only', 'url.certificate', '--url', url()]);
    expect(run.finding('url.certificate').detail).toMatch(/not trusted/);
  });

  test('OPS-19: when a security header is dropped on the way, then url.security-headers fails naming it', async () => {
    edit('conf/snippets/shipshape-security-headers.conf', (t) =>
      t.replace(/^add_header Permissions-Policy.*$/m, ''),
    );
    edit('conf/snippets/shipshape-proxy.conf', (t) => `${t}\nproxy_hide_header Permissions-Policy;\n`);
    await reload();
    const run = await doctor(['--only', 'url.security-headers', ...urlArgs()]);
    expect(run.finding('url.security-headers').status).toBe('fail');
    expect(run.finding('url.security-headers').detail).toMatch(/permissions-policy on \/health/);
  });

  test('OPS-19: when the app is stopped behind nginx, then url.health fails with the 502s', async () => {
    await app.stop();
    const run = await doctor(['--only', 'url.health', ...urlArgs()]);
    expect(run.finding('url.health')).toMatchObject({ status: 'fail', checklist: 'HLT-1' });
    expect(run.finding('url.health').detail).toMatch(/\/health 502/);
  });
});
