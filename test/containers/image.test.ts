import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO } from '../support/processes';
import { reportFigure } from '../support/report';
import { buildImage, MINUTE, run, sh, tempDir, waitFor, writeSecret } from './support';

/**
 * The runtime image built from the Dockerfile with podman, run for real next to
 * a PostgreSQL container on a private network.
 */
const IMAGE = 'localhost/shipshape:ctrtest';
const NETWORK = 'shipshape-image-test';
const DB = 'shipshape-image-test-db';
const APP = 'shipshape-image-test-app';
const DB_PASSWORD = 'image-test-db-password';
const SECRET_KEY = randomBytes(36).toString('base64url');

const secrets = tempDir('image');
let buildSeconds = 0;

async function removeAll() {
  await run('podman', ['rm', '-f', '-v', '-t', '0', APP, DB]);
  await run('podman', ['network', 'rm', '-f', NETWORK]);
}

const appArgs = () => [
  '--network',
  NETWORK,
  '-e',
  'SECRET_KEY_FILE=/run/secrets/secret_key',
  '-e',
  'DATABASE_URL_FILE=/run/secrets/database_url',
  '-e',
  'TRUST_PROXY=1',
  '-v',
  `${join(secrets, 'secret_key')}:/run/secrets/secret_key:ro`,
  '-v',
  `${join(secrets, 'database_url')}:/run/secrets/database_url:ro`,
];

beforeAll(async () => {
  await removeAll();
  const started = Date.now();
  await buildImage(IMAGE, (await sh('git', ['rev-parse', 'HEAD'])).trim());
  buildSeconds = (Date.now() - started) / 1000;

  // Secret files as Docker secrets are mounted: read-only, readable by the image's user only.
  writeSecret(secrets, 'secret_key', SECRET_KEY);
  writeSecret(secrets, 'database_url', `postgres://shipshape:${DB_PASSWORD}@${DB}:5432/shipshape`);
  await sh('chown', ['1000:1000', join(secrets, 'secret_key'), join(secrets, 'database_url')]);

  await sh('podman', ['network', 'create', NETWORK]);
  await sh('podman', [
    'run',
    '-d',
    '--name',
    DB,
    '--network',
    NETWORK,
    '-e',
    'POSTGRES_USER=shipshape',
    '-e',
    `POSTGRES_PASSWORD=${DB_PASSWORD}`,
    '-e',
    'POSTGRES_DB=shipshape',
    'docker.io/library/postgres:16',
  ]);
  await waitFor('PostgreSQL', 2 * MINUTE, async () => {
    // Over TCP: while the image initialises, a temporary server answers on the socket only.
    const ready = await run('podman', [
      'exec',
      DB,
      'pg_isready',
      '-h',
      '127.0.0.1',
      '-U',
      'shipshape',
      '-d',
      'shipshape',
    ]);
    return ready.code === 0 ? true : undefined;
  });
  // The deploy step: migrations run once, from the same image, before the app starts.
  await sh('podman', ['run', '--rm', ...appArgs(), IMAGE, 'node', 'dist/cli/migrate.js', 'latest']);
  await sh('podman', ['run', '-d', '--name', APP, ...appArgs(), IMAGE]);
}, 20 * MINUTE);

afterAll(async () => {
  await removeAll();
  reportFigure(`[containers] image build (podman build --format docker): ${buildSeconds.toFixed(0)} s`);
}, 2 * MINUTE);

describe('the runtime image', () => {
  test('CTR-4, CTR-5: when it is inspected, then it carries version and revision labels, a node HEALTHCHECK and an init', async () => {
    const [image] = JSON.parse(await sh('podman', ['image', 'inspect', IMAGE])) as {
      Config: {
        Labels: Record<string, string>;
        User: string;
        Entrypoint: string[];
        Cmd: string[];
        Env: string[];
      };
      Healthcheck?: { Test: string[] };
    }[];
    const { Labels, Entrypoint, Cmd, Env, User } = image!.Config;
    const { Healthcheck } = image!;
    expect(User).toBe('1000:1000');
    expect(Labels['org.opencontainers.image.version']).toBe('0.0.0-ctrtest');
    expect(Labels['org.opencontainers.image.revision']).toMatch(/^[0-9a-f]{40}$/);
    expect(Healthcheck?.Test.slice(0, 2)).toEqual(['CMD', 'node']);
    expect(Entrypoint).toEqual(['/usr/bin/tini', '--']);
    expect(Cmd).toEqual(['node', '--import', './dist/instrument.js', 'dist/main.js']);
    // No secret baked into the environment.
    expect(Env.filter((e) => /SECRET|PASSWORD|DATABASE_URL|TOKEN|DSN/i.test(e))).toEqual([]);
  });

  test('CFG-3, CTR-1, CTR-3, DB-8: when its files are listed, then no secret, test, .env, dev dependency or build tool is inside', async () => {
    const files = (
      await sh('bash', [
        '-c',
        `set -o pipefail; id=$(podman create ${IMAGE}); podman export "$id" | tar -t; status=$?; podman rm "$id" >/dev/null; exit $status`,
      ])
    )
      .split('\n')
      .map((f) => `/${f.replace(/^\.?\//, '')}`);
    expect(files).toContain('/app/dist/main.js');
    expect(files).toContain('/app/migrations/');
    expect(files).toContain('/app/node_modules/express/package.json');

    // Every package the lockfile marks dev-only (PGlite, tsx, TypeScript, jest, pino-pretty...), by its path.
    const lock = JSON.parse(readFileSync(join(REPO, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { dev?: boolean }>;
    };
    const devOnly = new Set(
      Object.entries(lock.packages)
        .filter(([path, entry]) => path && entry.dev)
        .map(([path]) => `/app/${path}/`),
    );
    expect(devOnly.has('/app/node_modules/@electric-sql/pglite/')).toBe(true);
    expect(files.filter((f) => devOnly.has(f))).toEqual([]);

    const forbidden = [
      /^\/app\/(test|src|coverage|\.data|\.git|\.ci|secrets|certs)\//, // tests, sources, local data, VCS
      /^\/app\/[^/]*\.(test|spec)\.[jt]s$|^\/app\/dist\/.*\.(test|spec)\.js$/,
      /(^|\/)\.env(\.[^/]*)?$/, // any .env file
      /^\/app\/\.npmrc$|^\/root\/\.npmrc$/,
      /(^|\/)id_(rsa|ecdsa|ed25519)$/,
      /^\/usr\/local\/bin\/(npm|npx|yarn|yarnpkg|corepack)$/,
      /^\/usr\/bin\/(gcc|g\+\+|cc|make|python3|git|curl|wget)$/,
    ];
    const privateKeys = files.filter(
      (f) =>
        /\.(key|pem)$/.test(f) &&
        !/^\/(etc\/ssl|usr\/lib\/ssl|usr\/share\/ca-certificates|usr\/local\/share)\//.test(f),
    );
    expect(files.filter((f) => forbidden.some((pattern) => pattern.test(f)))).toEqual([]);
    expect(privateKeys.filter((f) => !f.includes('/node_modules/'))).toEqual([]);
    // And by content: no private key or credential file where the app, its user or the system keeps them.
    const keys = await run('podman', [
      'run',
      '--rm',
      '--entrypoint',
      'grep',
      IMAGE,
      '-rlE',
      '--exclude-dir=node_modules',
      'BEGIN ([A-Z]+ )?PRIVATE KEY|_authToken|aws_secret_access_key',
      '/app',
      '/etc',
      '/root',
      '/home',
    ]);
    expect(keys.stdout.trim()).toBe('');

    const size = Number((await sh('podman', ['image', 'inspect', '--format', '{{.Size}}', IMAGE])).trim());
    reportFigure(`[containers] runtime image size: ${(size / 1e6).toFixed(0)} MB (${files.length} paths)`);
    expect(size).toBeGreaterThan(0);
  });

  test('CFG-6: when it starts without configuration, then it exits 78 naming every missing setting', async () => {
    const result = await run('podman', ['run', '--rm', IMAGE]);
    expect(result.code).toBe(78);
    for (const variable of ['SECRET_KEY', 'DATABASE_URL', 'TRUST_PROXY']) {
      expect(result.stderr).toContain(variable);
    }
  });

  test('CTR-2, SEC-14: when the app container runs, then node runs as a non-root user under tini', async () => {
    expect((await sh('podman', ['exec', APP, 'id', '-u'])).trim()).toBe('1000');
    const pid1 = await sh('podman', ['exec', APP, 'cat', '/proc/1/cmdline']);
    expect(pid1.split('\0')[0]).toBe('/usr/bin/tini');
    const users = await sh('podman', ['top', APP, 'user', 'args']);
    const nodeLine = users.split('\n').find((line) => line.includes('dist/main.js'));
    expect(nodeLine).toBeDefined();
    expect(nodeLine).not.toMatch(/^root\b/);
  });

  test('CTR-4: when its HEALTHCHECK runs, then it passes against the real database', async () => {
    await waitFor('the HEALTHCHECK to pass', 2 * MINUTE, async () => {
      const check = await run('podman', ['healthcheck', 'run', APP]);
      return check.code === 0 ? true : undefined;
    });
    const status = await sh('podman', ['inspect', '--format', '{{.State.Health.Status}}', APP]);
    expect(status.trim()).toBe('healthy');
  });

  test('when it is stopped, then it drains and exits 0', async () => {
    await sh('podman', ['stop', '-t', '30', APP]);
    const exitCode = (await sh('podman', ['inspect', '--format', '{{.State.ExitCode}}', APP])).trim();
    expect(exitCode).toBe('0');
    const logs = await run('podman', ['logs', APP]);
    const lines = `${logs.stdout}${logs.stderr}`;
    expect(lines).toContain('"msg":"draining"');
    expect(lines).toMatch(/"drained":true/);
  });
});
