import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  appendFileSync,
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../support/net';
import { REPO, type CommandResult as RunResult, run, runOk } from '../../support/processes';
import { waitFor } from '../../support/waiting';

/**
 * Private PostgreSQL 15 clusters backed up by pgBackRest with the shipped templates, and a private sshd standing
 * in for the backup host. Everything runs as the postgres user (pgBackRest refuses root) in temporary
 * directories, on free ports; nothing touches the machine's own cluster or /etc/pgbackrest.
 */

export const PG_BIN = '/usr/lib/postgresql/15/bin';
const POSTGRES_UID = Number(runOk('id', ['-u', 'postgres']).stdout.trim());
const POSTGRES_GID = Number(runOk('id', ['-g', 'postgres']).stdout.trim());

/** A directory the postgres user owns. */
export function postgresDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  chownPostgres(dir);
  return dir;
}

export function chownPostgres(path: string): void {
  runOk('chown', ['-R', `${POSTGRES_UID}:${POSTGRES_GID}`, path]);
}

/** Runs a command as postgres with the given environment added (runuser keeps the caller's environment). */
export function asPostgres(command: string, args: string[], env: Record<string, string> = {}): RunResult {
  return run('runuser', [
    '-u',
    'postgres',
    '--',
    'env',
    ...Object.entries(env).map(([k, v]) => `${k}=${v}`),
    command,
    ...args,
  ]);
}

/** A template of deploy/ with ${NAME} replaced as envsubst does. */
export function renderTemplate(relativePath: string, vars: Record<string, string>): string {
  return readFileSync(join(REPO, relativePath), 'utf8').replace(/\$\{([A-Z0-9_]+)\}/g, (_, name: string) => {
    const value = vars[name];
    if (value === undefined) throw new Error(`${relativePath} uses \${${name}}, which the test did not set`);
    return value;
  });
}

export const randomKey = () => randomBytes(48).toString('base64');

export interface BackedUpCluster {
  /** The root standing in for / on the database host: etc/pgbackrest, var/lib/pgbackrest, var/lib/postgresql... */
  root: string;
  data: string;
  socket: string;
  port: number;
  configPath: string;
  keyFile: string;
  textfileDir: string;
  /** Environment the deploy/ scripts need to find this cluster's pgBackRest configuration and metrics. */
  env: Record<string, string>;
  psql(sql: string, database?: string): string;
  script(name: string, args?: string[], env?: Record<string, string>): RunResult;
  start(extra?: string[]): void;
  /** A hard stop: SIGKILL to the postmaster, as a power cut would, then waits for every backend to go. */
  kill(): Promise<void>;
  stop(): void;
  pgbackrest(args: string[], env?: Record<string, string>): RunResult;
}

/**
 * initdb, the shipped pgbackrest.conf and WAL-archiving templates rendered with this root's paths, a fresh key in
 * conf.d, then start and stanza-create. `tcp` also listens on 127.0.0.1 with password authentication (the app).
 */
export async function backedUpCluster(options: { tcp?: boolean } = {}): Promise<BackedUpCluster> {
  const root = postgresDir('shipshape-pitr-');
  chmodSync(root, 0o755);
  const path = (...parts: string[]) => join(root, ...parts);
  const configPath = path('etc', 'pgbackrest');
  const data = path('var', 'lib', 'postgresql', '15', 'main');
  const socket = path('run', 'postgresql');
  const textfileDir = path('var', 'lib', 'prometheus', 'node-exporter');
  for (const dir of [
    join(configPath, 'conf.d'),
    path('var', 'lib', 'pgbackrest'),
    path('var', 'log', 'pgbackrest'),
    path('var', 'spool', 'pgbackrest'),
    path('var', 'lib', 'postgresql', '15', 'restores'),
    socket,
    textfileDir,
  ]) {
    mkdirSync(dir, { recursive: true });
  }
  const port = await freePort();
  writeFileSync(
    join(configPath, 'pgbackrest.conf'),
    renderTemplate('deploy/pgbackrest/pgbackrest.conf.template', {
      PGBR_REPO_PATH: path('var', 'lib', 'pgbackrest'),
      PGBR_RETENTION_DAYS: '30',
      PGBR_LOG_PATH: path('var', 'log', 'pgbackrest'),
      PGBR_LOCK_PATH: path('var', 'spool', 'pgbackrest'),
      PGBR_PG_PATH: data,
      PGBR_PG_PORT: String(port),
      PGBR_PG_SOCKET: socket,
    }),
  );
  const keyFile = join(configPath, 'conf.d', 'shipshape-cipher.conf');
  writeFileSync(keyFile, `[global]\nrepo1-cipher-pass=${randomKey()}\n`, { mode: 0o600 });
  chownPostgres(root);

  const env = {
    PGBACKREST_CONFIG_PATH: configPath,
    METRICS_TEXTFILE_DIR: textfileDir,
    RESTORE_ROOT: path('var', 'lib', 'postgresql', '15', 'restores'),
  };
  const initdb = asPostgres(join(PG_BIN, 'initdb'), [
    '--pgdata',
    data,
    '--auth-local=peer',
    '--auth-host=scram-sha-256',
    '--encoding=UTF8',
    '--data-checksums',
  ]);
  if (initdb.status !== 0) throw new Error(`initdb failed\n${initdb.stderr}`);
  appendFileSync(
    join(data, 'postgresql.conf'),
    `\n# test cluster\nport = ${port}\nlisten_addresses = '${options.tcp ? '127.0.0.1' : ''}'\n` +
      `unix_socket_directories = '${socket}'\nmax_wal_size = 64MB\n\n` +
      renderTemplate('deploy/pgbackrest/postgresql-archive.conf.template', { PGBR_CONFIG_PATH: configPath }),
  );

  const cluster: BackedUpCluster = {
    root,
    data,
    socket,
    port,
    configPath,
    keyFile,
    textfileDir,
    env,
    psql(sql, database = 'postgres') {
      const result = asPostgres('psql', [
        '--no-psqlrc',
        '--tuples-only',
        '--no-align',
        '--set=ON_ERROR_STOP=1',
        `--host=${socket}`,
        `--port=${port}`,
        `--dbname=${database}`,
        '--command',
        sql,
      ]);
      if (result.status !== 0) throw new Error(`psql failed: ${sql}\n${result.stderr}`);
      return result.stdout.trim();
    },
    script(name, args = [], extra = {}) {
      return asPostgres(join(REPO, 'deploy', name), args, { ...env, ...extra });
    },
    pgbackrest(args, extra = {}) {
      return asPostgres('pgbackrest', [`--config-path=${configPath}`, '--stanza=shipshape', ...args], extra);
    },
    start(extra = []) {
      const result = asPostgres(join(PG_BIN, 'pg_ctl'), [
        '--pgdata',
        data,
        '--log',
        path('var', 'log', 'postgresql.log'),
        '--wait',
        ...(extra.length ? ['-o', extra.join(' ')] : []),
        'start',
      ]);
      if (result.status !== 0) {
        throw new Error(
          `pg_ctl start failed\n${result.stderr}\n${readLog(path('var', 'log', 'postgresql.log'))}`,
        );
      }
    },
    async kill() {
      const pid = Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
      process.kill(pid, 'SIGKILL');
      // Backends notice the postmaster's death and exit; nothing may still hold the socket or write files.
      await waitFor('the killed cluster to stop accepting connections', async () =>
        run(join(PG_BIN, 'pg_isready'), ['--host', socket, '--port', String(port)]).status === 2
          ? true
          : undefined,
      );
      await waitFor('the backends to exit', async () =>
        run('fuser', [data]).status !== 0 ? true : undefined,
      );
    },
    stop() {
      if (existsSync(join(data, 'postmaster.pid'))) {
        asPostgres(join(PG_BIN, 'pg_ctl'), ['--pgdata', data, '--mode=immediate', 'stop']);
      }
    },
  };
  cluster.start();
  const created = cluster.pgbackrest(['stanza-create']);
  if (created.status !== 0) throw new Error(`stanza-create failed\n${created.stderr}${created.stdout}`);
  return cluster;
}

const readLog = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8').slice(-3000) : '');

/** Stops a cluster restore-to.sh left running, and removes it. */
export function dropRestored(cluster: BackedUpCluster, name: string): void {
  const dir = join(cluster.env.RESTORE_ROOT!, name);
  if (existsSync(join(dir, 'postmaster.pid'))) {
    asPostgres(join(PG_BIN, 'pg_ctl'), ['--pgdata', dir, '--mode=immediate', 'stop']);
  }
  rmSync(dir, { recursive: true, force: true });
  rmSync(`${dir}.run`, { recursive: true, force: true });
}

/** psql on a cluster restore-to.sh started (its private socket). */
export function restoredPsql(
  cluster: BackedUpCluster,
  name: string,
  sql: string,
  database = 'postgres',
): string {
  const result = asPostgres('psql', [
    '--no-psqlrc',
    '--tuples-only',
    '--no-align',
    '--set=ON_ERROR_STOP=1',
    `--host=${join(cluster.env.RESTORE_ROOT!, `${name}.run`)}`,
    '--port=5432',
    `--dbname=${database}`,
    '--command',
    sql,
  ]);
  if (result.status !== 0) throw new Error(`psql on ${name} failed: ${sql}\n${result.stderr}`);
  return result.stdout.trim();
}

/** Row count and md5 over the rows, the query restore-to.sh prints per table. */
export const checksumQuery = (table: string) =>
  `select count(*) || ' ' || coalesce(md5(string_agg(t::text, E'\\n' order by t::text)), '-') from ${table} t`;

export interface BackupHost {
  user: string;
  /** user@127.0.0.1:/home/USER/shipshape: what OFFHOST_TARGET names. */
  target: string;
  path: string;
  /** The ssh command for OFFHOST_SSH: the port, the client key, the pinned host key. */
  ssh: string;
  stop(): Promise<void>;
}

/**
 * A real sshd on a free loopback port with a dedicated user made for this test (removed by stop()), reached
 * with a key the postgres user owns and a pinned host key, as the database host reaches its backup host.
 */
export async function backupHost(): Promise<BackupHost> {
  const dir = postgresDir('shipshape-sshd-');
  const user = `ssbk${randomBytes(4).toString('hex')}`;
  runOk('useradd', ['--create-home', '--shell', '/bin/bash', user]);
  const home = `/home/${user}`;
  mkdirSync(join(home, '.ssh'), { mode: 0o700 });
  runOk('ssh-keygen', [
    '-q',
    '-t',
    'ed25519',
    '-N',
    '',
    '-C',
    'shipshape-offhost-test',
    '-f',
    join(dir, 'client'),
  ]);
  runOk('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'host')]);
  writeFileSync(join(home, '.ssh', 'authorized_keys'), readFileSync(join(dir, 'client.pub')), {
    mode: 0o600,
  });
  runOk('chown', ['-R', `${user}:${user}`, join(home, '.ssh')]);
  chownPostgres(join(dir, 'client'));
  chmodSync(join(dir, 'client'), 0o600);
  const port = await freePort();
  writeFileSync(
    join(dir, 'known_hosts'),
    `[127.0.0.1]:${port} ${readFileSync(join(dir, 'host.pub'), 'utf8').split(' ').slice(0, 2).join(' ')}\n`,
  );
  chownPostgres(join(dir, 'known_hosts'));
  writeFileSync(
    join(dir, 'sshd_config'),
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${join(dir, 'host')}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      // The dedicated account has no password; PAM's account stage is what lets such a user in.
      'UsePAM yes',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PermitRootLogin no',
      `AllowUsers ${user}`,
      'AuthorizedKeysFile .ssh/authorized_keys',
      'X11Forwarding no',
      'AllowTcpForwarding no',
      '',
    ].join('\n'),
  );
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const child: ChildProcess = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', join(dir, 'sshd_config')], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  child.stderr?.on('data', (chunk) => {
    log += chunk;
  });
  const ssh = `ssh -p ${port} -i ${join(dir, 'client')} -o IdentitiesOnly=yes -o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile=${join(dir, 'known_hosts')}`;
  await waitFor(`sshd on port ${port} (${log})`, async () =>
    asPostgres('bash', ['-c', `${ssh} ${user}@127.0.0.1 true`]).status === 0 ? true : undefined,
  );
  return {
    user,
    path: join(home, 'shipshape'),
    target: `${user}@127.0.0.1:${join(home, 'shipshape')}`,
    ssh,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        await new Promise<void>((resolve) => {
          child.once('exit', () => resolve());
          child.kill('SIGTERM');
        });
      }
      run('userdel', ['--remove', user]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
