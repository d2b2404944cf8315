import { type ChildProcess, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { join, relative } from 'node:path';
import { randomSecret, writeHostEnvFile } from '../infra/support/app';
import { send } from '../infra/support/http';
import {
  asPostgres,
  type BackedUpCluster,
  type BackupHost,
  backedUpCluster,
  backupHost,
  chownPostgres,
  PG_BIN,
  postgresDir,
} from '../infra/support/pgbackrest';
import { freePort } from '../support/net';
import { REPO, run, runOk, stopChild } from '../support/processes';
import { waitFor } from '../support/waiting';

/**
 * Losing the host, drilled: a database host (a temporary root with a PostgreSQL 15 cluster, pgBackRest, the env
 * file, the nginx site and an upload) is backed up and copied by deploy/backup-offhost.sh to a backup host (a
 * real sshd with a dedicated user). Then the host is destroyed, and a new empty root gets only the off-host copy
 * and the key: deploy/restore-host.sh restores configuration and database, and the built app serves the same
 * notes to the same bearer token. The time from the bare root to the first answer is measured and printed.
 */
jest.setTimeout(600_000);

let cluster: BackedUpCluster;
let backup: BackupHost;
let app: ChildProcess | undefined;
const keep = postgresDir('shipshape-key-custody-');
const roots: string[] = [keep];
const figures: string[] = [];
let token: string;
let appPort: number;
const upload = randomBytes(4096);

/** The env file as systemd reads it (KEY=VALUE lines). */
const readEnvFile = (file: string) =>
  Object.fromEntries(
    readFileSync(file, 'utf8')
      .split('\n')
      .filter((line) => /^[A-Z_]+=/.test(line))
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  );

/** The built app started as the unit starts it: dist/main.js with the environment file and nothing else. */
async function startApp(envFile: string): Promise<ChildProcess> {
  const env = readEnvFile(envFile);
  const log = openSync(join(keep, 'app.log'), 'a');
  const child = spawn(process.execPath, [join(REPO, 'dist', 'main.js')], {
    cwd: REPO,
    env: { PATH: process.env.PATH, ...env },
    stdio: ['ignore', log, log],
  });
  await waitFor(
    'the app to answer /health',
    async () => ((await send(`http://127.0.0.1:${env.PORT}/health`)).status === 200 ? true : undefined),
    { timeoutMs: 60_000 },
  );
  return child;
}

const api = (path: string, options: { method?: string; body?: unknown; token?: string } = {}) =>
  send(`http://127.0.0.1:${appPort}/api/v1${path}`, {
    method: options.method ?? 'GET',
    headers: {
      'content-type': 'application/json',
      ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
    },
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });

/** SHA-256 of every file under dir, by relative path. */
function tree(dir: string): Record<string, string> {
  const result: Record<string, string> = {};
  const walk = (at: string) => {
    for (const entry of readdirSync(at, { withFileTypes: true })) {
      const path = join(at, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile())
        result[relative(dir, path)] = createHash('sha256').update(readFileSync(path)).digest('hex');
    }
  };
  walk(dir);
  return result;
}

/** Waits until the WAL holding everything written so far is in the repository. */
async function walArchived(): Promise<void> {
  const segment = cluster.psql('select pg_walfile_name(pg_switch_wal())');
  await waitFor(`WAL ${segment} to be archived`, async () =>
    cluster.psql("select coalesce(last_archived_wal, '') from pg_stat_archiver") >= segment
      ? true
      : undefined,
  );
}

const offhost = (args: string[] = []) =>
  cluster.script('backup-offhost.sh', args, {
    OFFHOST_TARGET: backup.target,
    OFFHOST_SSH: backup.ssh,
    FILES_BACKUP_DIR: join(cluster.root, 'var', 'backups', 'shipshape-files'),
  });

function restoreHost(root: string, keyFile: string) {
  return run(join(REPO, 'deploy', 'restore-host.sh'), [], {
    env: {
      ...process.env,
      HOST_ROOT: root,
      OFFHOST_SOURCE: backup.target,
      OFFHOST_SSH: backup.ssh,
      BACKUP_KEY_FILE: keyFile,
    },
  });
}

beforeAll(async () => {
  if (!existsSync(join(REPO, 'dist', 'main.js')))
    throw new Error('dist/main.js is missing: npm run build first');
  [cluster, backup] = await Promise.all([backedUpCluster({ tcp: true }), backupHost()]);
  roots.push(cluster.root);
  const password = randomSecret();
  cluster.psql(`create role shipshape login password '${password}'`);
  cluster.psql('create database shipshape owner shipshape');

  // The host's files, where provision.sh and deploy.sh put them.
  const etc = join(cluster.root, 'etc');
  mkdirSync(join(etc, 'shipshape'), { recursive: true, mode: 0o700 });
  mkdirSync(join(etc, 'nginx', 'sites-available'), { recursive: true });
  mkdirSync(join(cluster.root, 'var', 'lib', 'shipshape', 'uploads'), { recursive: true });
  mkdirSync(join(cluster.root, 'srv', 'shipshape'), { recursive: true });
  appPort = await freePort();
  await writeHostEnvFile(join(etc, 'shipshape', 'shipshape.env'), {
    databaseUrl: `postgres://shipshape:${password}@127.0.0.1:${cluster.port}/shipshape`,
    port: appPort,
    workers: 1,
  });
  writeFileSync(
    join(etc, 'nginx', 'sites-available', 'shipshape.conf'),
    `# site of this host ${randomSecret()}\n`,
  );
  writeFileSync(join(cluster.root, 'var', 'lib', 'shipshape', 'uploads', 'avatar.bin'), upload);
  writeFileSync(
    join(cluster.root, 'srv', 'shipshape', 'deploys.log'),
    '2026-12-01T10:00:00Z deploy v1.4.0 ok\n',
  );
  // setgid and group postgres, as setup-pgbackrest.sh makes it: root writes, postgres copies off the host.
  const files = join(cluster.root, 'var', 'backups', 'shipshape-files');
  mkdirSync(files, { recursive: true });
  runOk('chown', ['root:postgres', files]);
  chmodSync(files, 0o2750);

  runOk(process.execPath, [join(REPO, 'dist', 'cli', 'migrate.js'), 'latest'], {
    env: { PATH: process.env.PATH, ...readEnvFile(join(etc, 'shipshape', 'shipshape.env')) },
  });
  app = await startApp(join(etc, 'shipshape', 'shipshape.env'));
  const email = `dr-${randomBytes(4).toString('hex')}@example.test`;
  const accountPassword = randomSecret();
  expect(
    (await api('/auth/register', { method: 'POST', body: { email, password: accountPassword } })).status,
  ).toBe(201);
  token = JSON.parse(
    (await api('/auth/login', { method: 'POST', body: { email, password: accountPassword } })).text,
  ).token;
  expect(
    (
      await api('/notes', {
        method: 'POST',
        token,
        body: { title: 'before the backup', body: 'in the base backup' },
      })
    ).status,
  ).toBe(201);
});

afterAll(async () => {
  if (app) await stopChild(app);
  cluster?.stop();
  for (const root of roots) {
    if (existsSync(join(root, 'var', 'lib', 'postgresql', '15', 'main', 'postmaster.pid'))) {
      asPostgres(join(PG_BIN, 'pg_ctl'), [
        '--pgdata',
        join(root, 'var', 'lib', 'postgresql', '15', 'main'),
        '--mode=immediate',
        'stop',
      ]);
    }
    rmSync(root, { recursive: true, force: true });
  }
  await backup?.stop();
  process.stdout.write(`\n${figures.join('\n')}\n`);
});

describe('off-host copy', () => {
  test('DB-11: when the backups are copied to the backup host over SSH, then every file arrives and is checked by SHA-256 there', async () => {
    expect(cluster.script('backup-pitr.sh', ['full']).status).toBe(0);
    const files = run(join(REPO, 'deploy', 'backup-files.sh'), [], {
      env: {
        ...process.env,
        FILES_ROOT: cluster.root,
        FILES_BACKUP_DIR: join(cluster.root, 'var', 'backups', 'shipshape-files'),
        BACKUP_KEY_FILE: cluster.keyFile,
      },
    });
    expect(files.stderr).toContain('skipping missing');
    expect(files.status).toBe(0);
    // Written after the base backup: only the archived WAL carries it.
    expect(
      (
        await api('/notes', {
          method: 'POST',
          token,
          body: { title: 'after the backup', body: 'in the WAL only' },
        })
      ).status,
    ).toBe(201);
    await walArchived();

    const copy = offhost();
    expect(copy.stderr).toMatch(/up to date; \d+ file\(s\) checked by SHA-256 there/);
    expect(copy.status).toBe(0);
    const local = {
      ...Object.fromEntries(
        Object.entries(tree(join(cluster.root, 'var', 'lib', 'pgbackrest'))).map(([k, v]) => [
          `repo/${k}`,
          v,
        ]),
      ),
      ...Object.fromEntries(
        Object.entries(tree(join(cluster.root, 'var', 'backups', 'shipshape-files'))).map(([k, v]) => [
          `files/${k}`,
          v,
        ]),
      ),
    };
    expect(tree(backup.path)).toEqual(local);
    expect(statSync(backup.path).uid).toBe(Number(runOk('id', ['-u', backup.user]).stdout));
    const metrics = readFileSync(join(cluster.textfileDir, 'shipshape_backup_offhost.prom'), 'utf8');
    expect(metrics).toMatch(/^shipshape_backup_offhost_last_run_success 1$/m);
    expect(run('promtool', ['check', 'metrics'], { input: metrics }).status).toBe(0);
    const bytes = Object.keys(local).reduce((sum, file) => sum + statSync(join(backup.path, file)).size, 0);
    figures.push(
      `off-host copy: ${Object.keys(local).length} files, ${bytes} bytes (repository and file archive, encrypted)`,
    );
  });

  test('DB-11: when a file of the copy is altered on the backup host, then the verification there fails and says so', () => {
    const archive = readdirSync(join(backup.path, 'files')).find((name) => name.endsWith('.enc'))!;
    const file = join(backup.path, 'files', archive);
    const original = readFileSync(file);
    const { atime, mtime } = statSync(file);
    const altered = Buffer.from(original);
    altered[100] = altered[100]! ^ 0xff;
    writeFileSync(file, altered);
    // Same size and time: rsync's quick check sees nothing to send, only the checksum on the far side notices.
    utimesSync(file, atime, mtime);
    try {
      const result = offhost(['--verify-all']);
      expect(result.status).not.toBe(0);
      expect(result.stderr).toContain('does not match');
      expect(readFileSync(join(cluster.textfileDir, 'shipshape_backup_offhost.prom'), 'utf8')).toMatch(
        /^shipshape_backup_offhost_last_run_success 0$/m,
      );
    } finally {
      writeFileSync(file, original);
      utimesSync(file, atime, mtime);
    }
    expect(offhost(['--verify-all']).status).toBe(0);
  });

  test('DB-10: when the off-host copy is searched for the secrets it protects, then only ciphertext is there', () => {
    const secret = readEnvFile(join(cluster.root, 'etc', 'shipshape', 'shipshape.env')).SECRET_KEY!;
    const everything = Object.keys(tree(backup.path)).map((file) => readFileSync(join(backup.path, file)));
    expect(everything.some((bytes) => bytes.includes(secret))).toBe(false);
    expect(everything.some((bytes) => bytes.includes(upload.subarray(0, 64)))).toBe(false);
    const archive = readdirSync(join(backup.path, 'files')).find((name) => name.endsWith('.enc'))!;
    expect(
      readFileSync(join(backup.path, 'files', archive))
        .subarray(0, 8)
        .toString(),
    ).toBe('Salted__');
  });
});

describe('losing the host', () => {
  test('DB-10: when a new host has the off-host copy but the wrong key, then restore-host.sh stops and says the key is wrong', () => {
    const newRoot = postgresDir('shipshape-newhost-wrongkey-');
    roots.push(newRoot);
    writeFileSync(join(keep, 'wrong.key'), `${randomBytes(48).toString('base64')}\n`, { mode: 0o600 });
    const result = restoreHost(newRoot, join(keep, 'wrong.key'));
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain('with this key');
    expect(existsSync(join(newRoot, 'etc', 'shipshape', 'shipshape.env'))).toBe(false);
    expect(existsSync(join(newRoot, 'var', 'lib', 'postgresql', '15', 'main', 'PG_VERSION'))).toBe(false);
  });

  test('OPS-17: when the host is destroyed, then a bare root with only the off-host copy and the key ends serving the same notes', async () => {
    // Key custody: the operator's copy of the key, kept apart from the host and the backup host.
    const keyLine = readFileSync(cluster.keyFile, 'utf8').match(/^repo1-cipher-pass=(.*)$/m)![1]!;
    writeFileSync(join(keep, 'shipshape.key'), `${keyLine}\n`, { mode: 0o600 });
    const oldSite = readFileSync(
      join(cluster.root, 'etc', 'nginx', 'sites-available', 'shipshape.conf'),
      'utf8',
    );
    await stopChild(app!);
    app = undefined;
    await cluster.kill();
    rmSync(cluster.root, { recursive: true, force: true });

    const started = Date.now();
    const newRoot = postgresDir('shipshape-newhost-');
    roots.push(newRoot);
    const restored = restoreHost(newRoot, join(keep, 'shipshape.key'));
    expect(restored.stderr).toContain('restore-host: done');
    expect(restored.status).toBe(0);
    expect(restored.stderr).toContain('deploy.sh v1.4.0');
    const restoredAt = Date.now();

    // A Debian cluster's configuration lives in /etc/postgresql (restored from the file archive); this test
    // cluster's lives in its data directory and names the old root's socket and pgBackRest paths, so those two
    // are given on the command line.
    const data = join(newRoot, 'var', 'lib', 'postgresql', '15', 'main');
    mkdirSync(join(newRoot, 'run', 'postgresql'), { recursive: true });
    chownPostgres(join(newRoot, 'run'));
    const start = asPostgres(join(PG_BIN, 'pg_ctl'), [
      '--pgdata',
      data,
      '--log',
      join(newRoot, 'postgresql.log'),
      '--wait',
      '-o',
      `-c unix_socket_directories='${join(newRoot, 'run', 'postgresql')}' -c archive_mode=off`,
      'start',
    ]);
    expect(start.status).toBe(0);
    const newPsql = (sql: string) =>
      asPostgres('psql', [
        '-qAt',
        '-h',
        join(newRoot, 'run', 'postgresql'),
        '-p',
        String(cluster.port),
        '-d',
        'postgres',
        '-c',
        sql,
      ]).stdout.trim();
    await waitFor(
      'the restored cluster to be promoted',
      async () => (newPsql('select pg_is_in_recovery()') === 'f' ? true : undefined),
      { timeoutMs: 120_000 },
    );
    const databaseAt = Date.now();

    app = await startApp(join(newRoot, 'etc', 'shipshape', 'shipshape.env'));
    const notes = await api('/notes', { token });
    const servingAt = Date.now();
    expect(notes.status).toBe(200);
    expect(
      JSON.parse(notes.text)
        .items.map((note: { title: string }) => note.title)
        .sort(),
    ).toEqual(['after the backup', 'before the backup']);
    expect(
      readFileSync(join(newRoot, 'var', 'lib', 'shipshape', 'uploads', 'avatar.bin')).equals(upload),
    ).toBe(true);
    expect(readFileSync(join(newRoot, 'etc', 'nginx', 'sites-available', 'shipshape.conf'), 'utf8')).toBe(
      oldSite,
    );
    expect(statSync(join(newRoot, 'etc', 'shipshape', 'shipshape.env')).mode & 0o777).toBe(0o600);
    figures.push(
      `DR drill, bare root to serving: ${((servingAt - started) / 1000).toFixed(1)} s (fetch, verify, files and database restore ${((restoredAt - started) / 1000).toFixed(1)} s; PostgreSQL start, WAL replay, promotion ${((databaseAt - restoredAt) / 1000).toFixed(1)} s; app start and first read ${((servingAt - databaseAt) / 1000).toFixed(1)} s)`,
    );
  });
});
