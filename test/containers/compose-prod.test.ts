import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../support/net';
import { REPO } from '../support/processes';
import { reportFigure } from '../support/report';
import {
  httpsRequest,
  MINUTE,
  run,
  selfSignedCert,
  sh,
  startComposeEnv,
  stopComposeEnv,
  tempDir,
  waitFor,
  writeSecret,
} from './support';

/**
 * docker-compose.prod.yml brought up for real by docker-compose against podman's Docker API:
 * postgres -> migrate -> app -> nginx, then a smoke test through nginx over TLS.
 */
const PROJECT = 'shipshape';
const IMAGE_REPO = 'localhost/shipshape';
const IMAGE_TAG = 'ctrtest';
const work = tempDir('compose-prod');
const dirs = {
  secrets: join(work, 'secrets'),
  certs: join(work, 'certs'),
  static: join(work, 'static'),
  backups: join(work, 'backups'),
  acme: join(work, 'acme'),
};
let env: NodeJS.ProcessEnv = process.env;
let ca = '';
let httpsPort = 0;
let httpPort = 0;
let appHostPort = 0;
let secondsToHealthy = 0;

const compose = (...args: string[]) =>
  run('docker-compose', ['-p', PROJECT, '-f', 'docker-compose.prod.yml', '--profile', 'backup', ...args], {
    env,
  });
const container = (service: string) => `${PROJECT}_${service}_1`;
const base = () => `https://localhost:${httpsPort}`;

interface Inspected {
  Created: string;
  Config: { Image: string };
  State: {
    StartedAt: string;
    FinishedAt: string;
    ExitCode: number;
    Health?: { Log: { End: string; ExitCode: number }[] };
  };
  HostConfig: {
    ReadonlyRootfs: boolean;
    SecurityOpt: string[];
    Memory: number;
    NanoCpus: number;
    RestartPolicy: { Name: string };
  };
  NetworkSettings: { Ports: Record<string, { HostIp: string; HostPort: string }[] | null> };
}

async function inspect(name: string): Promise<Inspected> {
  return (JSON.parse(await sh('podman', ['inspect', name])) as Inspected[])[0]!;
}
// Podman prints nanoseconds; Date wants at most milliseconds.
const time = (stamp: string) => Date.parse(stamp.replace(/(\.\d{3})\d+/, '$1'));
const firstHealthy = (c: Inspected) => {
  const entry = c.State.Health?.Log.find((log) => log.ExitCode === 0);
  if (!entry) throw new Error('no passing health check recorded');
  return time(entry.End);
};

beforeAll(async () => {
  await sh('podman', [
    'build',
    '--format',
    'docker',
    '--build-arg',
    'APP_VERSION=0.0.0-ctrtest',
    '-t',
    `${IMAGE_REPO}:${IMAGE_TAG}`,
    '.',
  ]);

  // The operator's preparation, as docs/deploy-docker.md tells it: a root-only secrets directory, each
  // file readable by the one user that reads it (app 1000, postgres 999), a certificate, static files.
  for (const dir of Object.values(dirs)) mkdirSync(dir, { recursive: true });
  chmodSync(dirs.secrets, 0o700);
  const password = randomBytes(18).toString('base64url');
  writeSecret(dirs.secrets, 'postgres_password', password);
  writeSecret(dirs.secrets, 'database_url', `postgres://shipshape:${password}@postgres:5432/shipshape`);
  writeSecret(dirs.secrets, 'secret_key', randomBytes(48).toString('base64url'));
  chownSync(join(dirs.secrets, 'postgres_password'), 999, 999);
  chownSync(join(dirs.secrets, 'database_url'), 1000, 1000);
  chownSync(join(dirs.secrets, 'secret_key'), 1000, 1000);
  chownSync(dirs.backups, 999, 999);
  ca = readFileSync(await selfSignedCert(dirs.certs), 'utf8');
  mkdirSync(join(dirs.static, 'static'), { recursive: true });
  writeFileSync(join(dirs.static, 'static', 'app.3f2a.css'), 'body{margin:0}\n');

  [httpPort, httpsPort, appHostPort] = [await freePort(), await freePort(), await freePort()];
  env = {
    ...(await startComposeEnv()),
    APP_IMAGE: IMAGE_REPO,
    APP_VERSION: IMAGE_TAG,
    SECRETS_DIR: dirs.secrets,
    TLS_CERT_DIR: dirs.certs,
    STATIC_DIR: join(dirs.static, 'static'),
    BACKUP_DIR: dirs.backups,
    // Often enough that a dump is taken after the smoke test has written accounts.
    BACKUP_INTERVAL_SECONDS: '5',
    ACME_DIR: dirs.acme,
    HTTP_PORT: String(httpPort),
    HTTPS_PORT: String(httpsPort),
    HTTPS_PORT_SUFFIX: `:${httpsPort}`,
    APP_HOST_PORT: String(appHostPort),
  };
  await compose('down', '-v', '--remove-orphans');

  const started = Date.now();
  const up = await compose('up', '-d');
  if (up.code !== 0) throw new Error(`docker-compose up failed:\n${up.stdout}\n${up.stderr}`);
  await waitFor('the stack to answer through nginx', 5 * MINUTE, async () => {
    const res = await httpsRequest(`${base()}/health`, ca);
    return res.status === 200 ? true : undefined;
  });
  secondsToHealthy = (Date.now() - started) / 1000;
}, 20 * MINUTE);

afterAll(async () => {
  const down = await compose('down', '-v', '--remove-orphans');
  if (down.code !== 0) console.error(down.stderr);
  await stopComposeEnv();
  await run('podman', ['rmi', `${IMAGE_REPO}:${IMAGE_TAG}-next`]);
  rmSync(work, { recursive: true, force: true });
  reportFigure(
    `[containers] docker-compose up -> healthy stack through nginx: ${secondsToHealthy.toFixed(1)} s`,
  );
}, 5 * MINUTE);

describe('CTR-6: docker-compose.prod.yml', () => {
  test('DB-1: when it comes up, then postgres is healthy before migrate runs, migrate succeeds before the app starts, and the app is healthy before nginx starts', async () => {
    const [postgres, migrate, app, nginx] = await Promise.all(
      ['postgres', 'migrate', 'app', 'nginx'].map((s) => inspect(container(s))),
    );
    expect(migrate!.State.ExitCode).toBe(0);
    expect(firstHealthy(postgres!)).toBeLessThanOrEqual(time(migrate!.State.StartedAt));
    expect(time(migrate!.State.FinishedAt)).toBeLessThanOrEqual(time(app!.State.StartedAt));
    expect(firstHealthy(app!)).toBeLessThanOrEqual(time(nginx!.Created));
    const logs = await run('podman', ['logs', container('migrate')]);
    expect(logs.stdout).toMatch(/applied .*create_users/);
  });

  test('when a client uses the API through nginx over TLS, then sign-up, login and notes work', async () => {
    const health = await httpsRequest(`${base()}/health`, ca);
    expect(JSON.parse(health.body)).toMatchObject({ status: 'healthy' });
    expect(health.headers['strict-transport-security']).toMatch(/max-age=\d+/);
    expect(health.headers.server).toBe('nginx');

    const email = `smoke-${randomBytes(4).toString('hex')}@example.test`;
    const password = randomBytes(18).toString('base64url');
    const register = await httpsRequest(`${base()}/api/v1/auth/register`, ca, {
      method: 'POST',
      body: { email, password },
    });
    expect(register.status).toBe(201);
    const login = await httpsRequest(`${base()}/api/v1/auth/login`, ca, {
      method: 'POST',
      body: { email, password },
    });
    expect(login.status).toBe(200);
    const auth = { authorization: `Bearer ${JSON.parse(login.body).token}` };
    const created = await httpsRequest(`${base()}/api/v1/notes`, ca, {
      method: 'POST',
      headers: auth,
      body: { title: 'through nginx' },
    });
    expect(created.status).toBe(201);
    const listed = await httpsRequest(`${base()}/api/v1/notes`, ca, { headers: auth });
    expect(JSON.parse(listed.body).items.map((n: { title: string }) => n.title)).toContain('through nginx');
  });

  test(
    "when the VPS path's smoke test runs against nginx over TLS, then it passes with the package version",
    async () => {
      const { version } = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string };
      const smoke = await run(join(REPO, 'deploy', 'smoke.sh'), [base()], {
        env: {
          ...process.env,
          SMOKE_CA_FILE: join(dirs.certs, 'fullchain.pem'),
          SMOKE_EXPECT_VERSION: version,
        },
      });
      expect(smoke.stderr).toContain('smoke: passed');
      expect(smoke.code).toBe(0);
    },
    2 * MINUTE,
  );

  test('SEC-3, PXY-2: when a static file or plain HTTP is asked for, then nginx serves the file with cache headers and redirects to HTTPS', async () => {
    const css = await httpsRequest(`${base()}/static/app.3f2a.css`, ca);
    expect(css.status).toBe(200);
    expect(css.headers['cache-control']).toContain('immutable');
    const plain = await run('curl', [
      '-s',
      '-o',
      '/dev/null',
      '-w',
      '%{http_code} %{redirect_url}',
      '-H',
      'Host: localhost',
      `http://127.0.0.1:${httpPort}/health`,
    ]);
    expect(plain.stdout).toBe(`301 https://localhost:${httpsPort}/health`);
  });

  test(
    'CFG-7: when the app container is inspected, then it is read-only, unprivileged, limited and reads its secrets from files',
    async () => {
      const app = await inspect(container('app'));
      expect(app.HostConfig.ReadonlyRootfs).toBe(true);
      expect(app.HostConfig.SecurityOpt.join(' ')).toContain('no-new-privileges');
      expect(app.HostConfig.Memory).toBe(512 * 1024 * 1024);
      expect(app.HostConfig.NanoCpus).toBe(1e9);
      expect(app.HostConfig.RestartPolicy.Name).toBe('unless-stopped');

      const name = container('app');
      expect((await sh('podman', ['exec', name, 'id', '-u'])).trim()).toBe('1000');
      const status = await sh('podman', ['exec', name, 'cat', '/proc/1/status']);
      expect(status).toMatch(/CapEff:\s+0000000000000000/);
      expect((await run('podman', ['exec', name, 'touch', '/app/written'])).code).not.toBe(0);
      expect((await run('podman', ['exec', name, 'touch', '/tmp/written'])).code).toBe(0);
      const environment = await sh('podman', ['exec', name, 'env']);
      expect(environment).toContain('SECRET_KEY_FILE=/run/secrets/secret_key');
      expect(environment).not.toMatch(/^(SECRET_KEY|DATABASE_URL|POSTGRES_PASSWORD)=/m);
    },
    2 * MINUTE,
  );

  test(
    'when anything but nginx tries to reach the app or the database, then it cannot',
    async () => {
      const app = await inspect(container('app'));
      expect(app.NetworkSettings.Ports['3000/tcp']).toEqual([
        { HostIp: '127.0.0.1', HostPort: String(appHostPort) },
      ]);
      const postgres = await inspect(container('postgres'));
      expect(Object.values(postgres.NetworkSettings.Ports).filter((p) => p && p.length > 0)).toEqual([]);

      // The published port answers on the host's loopback only, not on its other addresses.
      const external = Object.values(networkInterfaces())
        .flat()
        .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;
      expect(external).toBeDefined();
      const reached = await new Promise<boolean>((done) => {
        const socket = connect({ host: external!, port: appHostPort }, () => {
          socket.destroy();
          done(true);
        });
        socket.on('error', () => done(false));
        socket.setTimeout(3000, () => {
          socket.destroy();
          done(false);
        });
      });
      expect(reached).toBe(false);

      // A container outside the stack neither resolves the app nor reaches it or the database on the backend.
      const backendIp = (
        await sh('podman', [
          'inspect',
          '--format',
          `{{(index .NetworkSettings.Networks "${PROJECT}_backend").IPAddress}}`,
          container('app'),
        ])
      ).trim();
      for (const url of ['http://app:3000/health/live', `http://${backendIp}:3000/health/live`]) {
        const outsider = await run('podman', [
          'run',
          '--rm',
          '--network',
          'podman',
          `${IMAGE_REPO}:${IMAGE_TAG}`,
          'node',
          '-e',
          `fetch('${url}',{signal:AbortSignal.timeout(3000)}).then(()=>process.exit(0),()=>process.exit(3))`,
        ]);
        expect(outsider.code).toBe(3);
      }
    },
    2 * MINUTE,
  );

  test(
    'DB-4: when the backup profile runs, then its latest dump verifies and restores into a fresh database with the accounts in it',
    async () => {
      const users = async (database: string) =>
        Number(
          (
            await sh('podman', [
              'exec',
              container('postgres'),
              'psql',
              '-U',
              'shipshape',
              '-d',
              database,
              '-tAc',
              'select count(*) from users',
            ])
          ).trim(),
        );
      const live = await users('shipshape');
      expect(live).toBeGreaterThan(0);
      const since = Date.now();
      const dump = await waitFor('a backup taken after the smoke test', 2 * MINUTE, async () => {
        const listing = await sh('podman', ['exec', container('backup'), 'ls', '-t', '/backups']);
        const latest = listing.split('\n').find((f) => /^shipshape-.*\.dump$/.test(f));
        if (!latest) return undefined;
        const stamp = /(\d{8}T\d{6})Z/.exec(latest)![1]!;
        const taken = Date.parse(
          `${stamp.slice(0, 4)}-${stamp.slice(4, 6)}-${stamp.slice(6, 8)}T${stamp.slice(9, 11)}:${stamp.slice(11, 13)}:${stamp.slice(13, 15)}Z`,
        );
        return taken >= since - 1000 ? latest : undefined;
      });
      await sh('podman', [
        'exec',
        '-w',
        '/backups',
        container('backup'),
        'sha256sum',
        '-c',
        `${dump}.sha256`,
      ]);

      // The restore drill of docs/deploy-docker.md: into a scratch database, then compare.
      await sh('podman', ['exec', container('postgres'), 'createdb', '-U', 'shipshape', 'restore_check']);
      await sh('bash', [
        '-c',
        `podman exec -i ${container('postgres')} pg_restore -U shipshape -d restore_check --no-owner < "$0"`,
        join(dirs.backups, dump),
      ]);
      expect(await users('restore_check')).toBeGreaterThanOrEqual(live);
    },
    3 * MINUTE,
  );

  test(
    'when a new tag is deployed and then rolled back, then migrate runs first each time and the smoke test passes on each version',
    async () => {
      const imageOf = async () => (await inspect(container('app'))).Config.Image;
      await sh('podman', ['tag', `${IMAGE_REPO}:${IMAGE_TAG}`, `${IMAGE_REPO}:${IMAGE_TAG}-next`]);
      for (const tag of [`${IMAGE_TAG}-next`, IMAGE_TAG]) {
        const up = await run('docker-compose', ['-p', PROJECT, '-f', 'docker-compose.prod.yml', 'up', '-d'], {
          env: { ...env, APP_VERSION: tag },
        });
        if (up.code !== 0) throw new Error(`up with ${tag} failed:\n${up.stderr}`);
        expect(await imageOf()).toContain(`:${tag}`);
        const [migrate, app] = [await inspect(container('migrate')), await inspect(container('app'))];
        expect(migrate.State.ExitCode).toBe(0);
        expect(migrate.Config.Image).toContain(`:${tag}`);
        expect(time(migrate.State.FinishedAt)).toBeLessThanOrEqual(time(app.State.StartedAt));
        // As docs/deploy-docker.md: wait for the new app to be healthy, then reload
        // nginx so it resolves the new container.
        await waitFor('the new app to be healthy', 2 * MINUTE, async () => {
          const health = await sh('podman', [
            'inspect',
            '--format',
            '{{.State.Health.Status}}',
            container('app'),
          ]);
          return health.trim() === 'healthy' ? true : undefined;
        });
        await waitFor('nginx to reload', MINUTE, async () => {
          const reload = await run('podman', ['exec', container('nginx'), 'nginx', '-s', 'reload']);
          return reload.code === 0 ? true : undefined;
        });
        const smoke = await run(join(REPO, 'deploy', 'smoke.sh'), [base()], {
          env: { ...process.env, SMOKE_CA_FILE: join(dirs.certs, 'fullchain.pem'), SMOKE_TIMEOUT: '120' },
        });
        expect(smoke.stderr).toContain('smoke: passed');
      }
      await run('podman', ['rmi', `${IMAGE_REPO}:${IMAGE_TAG}-next`]);
    },
    8 * MINUTE,
  );

  test(
    'when it is taken down with -v, then no container, network or volume of the stack remains',
    async () => {
      const down = await compose('down', '-v', '--remove-orphans');
      expect(down.code).toBe(0);
      const containers = await sh('podman', [
        'ps',
        '-a',
        '--filter',
        `label=com.docker.compose.project=${PROJECT}`,
        '-q',
      ]);
      expect(containers.trim()).toBe('');
      const volumes = await sh('podman', ['volume', 'ls', '--format', '{{.Name}}']);
      expect(volumes.split('\n')).not.toContain(`${PROJECT}_pgdata`);
      const networks = await sh('podman', ['network', 'ls', '--format', '{{.Name}}']);
      expect(networks.split('\n').filter((n) => n.startsWith(`${PROJECT}_`))).toEqual([]);
    },
    3 * MINUTE,
  );
});
