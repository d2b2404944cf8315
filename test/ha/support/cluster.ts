import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from '../../support/net';
import { REPO } from '../../support/processes';
import { waitFor } from '../../support/waiting';

export interface PatroniNode {
  name: string;
  pgPort: number;
  apiPort: number;
  dataDir: string;
  patroni: ChildProcess | undefined;
}

export interface HaCluster {
  /** Through HAProxy: always the current leader (Patroni's /primary check). */
  primaryUrl(database?: string): string;
  nodes: PatroniNode[];
  leader(): Promise<PatroniNode | undefined>;
  /** GET on a node's Patroni REST API; 0 when nothing answers. */
  api(node: PatroniNode, path: string): Promise<number>;
  /** kill -9 of the node's Patroni and of its postmaster: a host dying, as far as the cluster can tell. */
  crash(node: PatroniNode): void;
  stop(): Promise<void>;
}

const postgresUid = () => Number(execFileSync('id', ['-u', 'postgres']).toString());
const postgresGid = () => Number(execFileSync('id', ['-g', 'postgres']).toString());

/** Fills ${NAME} placeholders, as envsubst does on a real host; an unknown one is an error, not an empty string. */
export function render(template: string, values: Record<string, string>): string {
  return template.replace(/\$\{([A-Z_]+)\}/g, (_, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`no value for \${${name}}`);
    return value;
  });
}

function spawnLogged(command: string, args: string[], log: string, asPostgres: boolean): ChildProcess {
  const full = asPostgres
    ? ['setpriv', ['--reuid=postgres', '--regid=postgres', '--clear-groups', command, ...args]]
    : [command, args];
  const child = spawn(full[0] as string, full[1] as string[], {
    env: { PATH: process.env.PATH, HOME: tmpdir(), LANG: 'C.UTF-8' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const append = (chunk: Buffer) => {
    try {
      writeFileSync(log, chunk, { flag: 'a' });
    } catch {
      // the directory is gone: the test is over
    }
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  return child;
}

function killAndWait(child: ChildProcess | undefined, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const hard = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.once('exit', () => {
      clearTimeout(hard);
      resolve();
    });
    child.kill(signal);
  });
}

export async function httpStatus(url: string): Promise<number> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
    await response.arrayBuffer();
    return response.status;
  } catch {
    return 0;
  }
}

/**
 * One etcd member, two Patroni nodes rendered from deploy/ha/patroni.yml.template (synchronous replication) and
 * HAProxy with deploy/ha/haproxy.cfg's primary check, all on loopback with free ports in a private directory.
 * Resolves once the leader has a synchronous standby.
 */
export async function startHaCluster(): Promise<HaCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'shipshape-ha-'));
  chownSync(dir, postgresUid(), postgresGid());
  const logs = join(dir, 'logs');
  mkdirSync(logs);
  chownSync(logs, postgresUid(), postgresGid());
  const superuserPassword = randomBytes(18).toString('base64url');
  const passwords = {
    SUPERUSER_PASSWORD: superuserPassword,
    REPLICATION_PASSWORD: randomBytes(18).toString('base64url'),
    REWIND_PASSWORD: randomBytes(18).toString('base64url'),
  };

  const [clientPort, peerPort, proxyPort] = [await freePort(), await freePort(), await freePort()];
  const etcdUrl = `http://127.0.0.1:${clientPort}`;
  const peerUrl = `http://127.0.0.1:${peerPort}`;
  const etcd = spawnLogged(
    'etcd',
    [
      '--name=e1',
      `--data-dir=${join(dir, 'etcd')}`,
      `--listen-client-urls=${etcdUrl}`,
      `--advertise-client-urls=${etcdUrl}`,
      `--listen-peer-urls=${peerUrl}`,
      `--initial-advertise-peer-urls=${peerUrl}`,
      `--initial-cluster=e1=${peerUrl}`,
    ],
    join(logs, 'etcd.log'),
    false,
  );
  const nodes: PatroniNode[] = [];
  let haproxy: ChildProcess | undefined;
  const stop = async () => {
    await killAndWait(haproxy);
    await Promise.all(nodes.map((node) => killAndWait(node.patroni)));
    for (const node of nodes) killPostmaster(node);
    await killAndWait(etcd);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitFor('etcd', async () => ((await httpStatus(`${etcdUrl}/health`)) === 200 ? true : undefined));
    const template = readFileSync(join(REPO, 'deploy/ha/patroni.yml.template'), 'utf8');
    for (const name of ['node1', 'node2']) {
      const node: PatroniNode = {
        name,
        pgPort: await freePort(),
        apiPort: await freePort(),
        dataDir: join(dir, name, 'data'),
        patroni: undefined,
      };
      mkdirSync(join(dir, name), { mode: 0o700 });
      chownSync(join(dir, name), postgresUid(), postgresGid());
      const config = join(dir, `${name}.yml`);
      writeFileSync(
        config,
        render(template, {
          NODE_NAME: name,
          NODE_ADDRESS: '127.0.0.1',
          PG_PORT: String(node.pgPort),
          API_PORT: String(node.apiPort),
          ETCD_HOSTS: `127.0.0.1:${clientPort}`,
          CLUSTER_CIDR: '127.0.0.1/32',
          DATA_DIR: node.dataDir,
          SOCKET_DIR: join(dir, name),
          ...passwords,
        }),
      );
      chownSync(config, postgresUid(), postgresGid());
      nodes.push(node);
    }
    const launch = (node: PatroniNode) => {
      node.patroni = spawnLogged(
        'patroni',
        [join(dir, `${node.name}.yml`)],
        join(logs, `${node.name}.log`),
        true,
      );
    };
    // The first node bootstraps alone, so the leader is known; the second then clones it.
    launch(nodes[0]!);
    await waitFor(
      'node1 to lead',
      async () => ((await api(nodes[0]!, '/primary')) === 200 ? true : undefined),
      {
        timeoutMs: 60_000,
      },
    );
    launch(nodes[1]!);
    await waitFor(
      'node2 to be the synchronous standby',
      async () => ((await api(nodes[1]!, '/sync')) === 200 ? true : undefined),
      { timeoutMs: 90_000, intervalMs: 500 },
    );

    const proxyConfig = join(dir, 'haproxy.cfg');
    writeFileSync(proxyConfig, haproxyConfig(proxyPort, nodes));
    execFileSync('haproxy', ['-c', '-q', '-f', proxyConfig]);
    haproxy = spawnLogged('haproxy', ['-db', '-f', proxyConfig], join(logs, 'haproxy.log'), false);
    // HAProxy counts a server up until its first check fails: wait until it no longer routes to the standby.
    await waitFor('HAProxy to route to the leader only', async () => {
      for (let i = 0; i < 3; i += 1) {
        const client = new pg.Client({ connectionString: primaryUrl() });
        client.on('error', () => {});
        await client.connect();
        const { rows } = await client.query('select pg_is_in_recovery() as standby');
        await client.end();
        if (rows[0].standby) return undefined;
      }
      return true;
    });
  } catch (error) {
    const tail = ['etcd', 'node1', 'node2']
      .map((name) => {
        try {
          return `--- ${name}\n${readFileSync(join(logs, `${name}.log`), 'utf8').slice(-2_000)}`;
        } catch {
          return '';
        }
      })
      .join('\n');
    await stop();
    throw new Error(`${(error as Error).message}\n${tail}`);
  }

  function primaryUrl(database = 'postgres'): string {
    return `postgres://postgres:${superuserPassword}@127.0.0.1:${proxyPort}/${database}`;
  }

  async function api(node: PatroniNode, path: string): Promise<number> {
    return httpStatus(`http://127.0.0.1:${node.apiPort}${path}`);
  }

  return {
    primaryUrl,
    nodes,
    async leader() {
      for (const node of nodes) if ((await api(node, '/primary')) === 200) return node;
      return undefined;
    },
    api,
    crash(node) {
      const postmaster = postmasterPid(node);
      node.patroni?.kill('SIGKILL');
      if (postmaster) process.kill(postmaster, 'SIGKILL');
    },
    stop,
  };
}

/** deploy/ha/haproxy.cfg's primary listener, with this test's ports: the same check and server options. */
function haproxyConfig(port: number, nodes: PatroniNode[]): string {
  const shipped = readFileSync(join(REPO, 'deploy/ha/haproxy.cfg'), 'utf8');
  const primary = /listen pg_primary\n([\s\S]*?)\n\n/.exec(shipped)?.[1];
  if (!primary) throw new Error('deploy/ha/haproxy.cfg has no pg_primary listener');
  const body = primary
    .split('\n')
    .filter((line) => !/^\s*(bind|server)\s/.test(line))
    .join('\n');
  const defaults = /defaults\n([\s\S]*?)\n\n/.exec(shipped)?.[1] ?? '';
  return [
    'global',
    '    maxconn 200',
    '',
    'defaults',
    defaults,
    '',
    'listen pg_primary',
    `    bind 127.0.0.1:${port}`,
    body,
    ...nodes.map((node) => `    server ${node.name} 127.0.0.1:${node.pgPort} check port ${node.apiPort}`),
    '',
  ].join('\n');
}

function postmasterPid(node: PatroniNode): number | undefined {
  try {
    return Number(readFileSync(join(node.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]) || undefined;
  } catch {
    return undefined;
  }
}

function killPostmaster(node: PatroniNode): void {
  const pid = postmasterPid(node);
  if (!pid) return;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}
