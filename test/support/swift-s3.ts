import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { freePort } from './net';
import { sleep } from './waiting';

/** The Debian packages `.ci/steps/27-s3.sh` installs: OpenStack Swift's servers and the memcached it needs. */
export const SWIFT_PROXY = '/usr/bin/swift-proxy-server';
export const MEMCACHED = '/usr/bin/memcached';
export const swiftInstalled = () => existsSync(SWIFT_PROXY) && existsSync(MEMCACHED);

export interface SwiftS3 {
  /** The S3 API's URL (path-style, region us-east-1). */
  endpoint: string;
  bucket: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  /** A client of the test's own, to look into the bucket behind the app's back. */
  client: S3Client;
  /** What the servers printed, for a failure's report. */
  logs(): string;
  /**
   * The S3 requests the proxy logged for keys under a prefix, in order, as the method and the names of the query
   * parameters: 'POST uploads' starts a multipart upload, 'DELETE uploadId' aborts one.
   */
  requestsUnder(prefix: string): string[];
  stop(): Promise<void>;
}

const STORAGE_SERVERS = ['account', 'container', 'object'] as const;

/** Swift's paste-deploy files: one storage server on one device, no replication, logs on the console. */
function serverConf(dir: string, kind: string, port: number): string {
  return `[DEFAULT]
devices = ${join(dir, 'devices')}
mount_check = false
bind_ip = 127.0.0.1
bind_port = ${port}
workers = 0
swift_dir = ${dir}
log_level = INFO

[pipeline:main]
pipeline = ${kind}-server

[app:${kind}-server]
use = egg:swift#${kind}
`;
}

/**
 * The proxy with s3api (Swift's S3 API, as deployments run it: SigV4, presigned URLs, multipart through SLO),
 * tempauth for one account whose S3 access key is "test:tester", and memcached, which tempauth needs.
 */
function proxyConf(dir: string, port: number, memcachedPort: number): string {
  const plain = [
    'catch_errors',
    'gatekeeper',
    'healthcheck',
    'listing_formats',
    'copy',
    'slo',
    'dlo',
    'versioned_writes',
  ];
  return `[DEFAULT]
bind_ip = 127.0.0.1
bind_port = ${port}
workers = 0
swift_dir = ${dir}
log_level = INFO

[pipeline:main]
pipeline = catch_errors gatekeeper healthcheck proxy-logging cache listing_formats s3api tempauth copy slo dlo versioned_writes proxy-logging proxy-server

[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true

[filter:s3api]
use = egg:swift#s3api
location = us-east-1

[filter:tempauth]
use = egg:swift#tempauth
user_test_tester = testing .admin

[filter:cache]
use = egg:swift#memcache
memcache_servers = 127.0.0.1:${memcachedPort}

[filter:proxy-logging]
use = egg:swift#proxy_logging

${plain.map((name) => `[filter:${name}]\nuse = egg:swift#${name}\n`).join('\n')}`;
}

/**
 * One ring per storage server kind, each a single device: built in one run of Debian's Python (where the swift
 * package is), not nine of swift-ring-builder.
 */
function buildRings(dir: string, ports: Record<(typeof STORAGE_SERVERS)[number], number>) {
  const script = `
import sys
from swift.common.ring import RingBuilder
for kind, port in zip(sys.argv[2::2], sys.argv[3::2]):
    builder = RingBuilder(4, 1, 1)
    builder.add_dev({'id': 0, 'region': 1, 'zone': 1, 'ip': '127.0.0.1', 'port': int(port), 'device': 'd1', 'weight': 1})
    builder.rebalance()
    builder.get_ring().save(f'{sys.argv[1]}/{kind}.ring.gz')
`;
  const args = STORAGE_SERVERS.flatMap((kind) => [kind, String(ports[kind])]);
  execFileSync('/usr/bin/python3', ['-c', script, dir, ...args], { stdio: 'pipe' });
}

/**
 * A throw-away OpenStack Swift with its S3 API on free ports, all on loopback: memcached, the account,
 * container and object servers and the proxy, files in a temporary directory. The bucket exists when this
 * resolves. Swift's s3api is a production S3 implementation (packaged by Debian), not a mock.
 */
export async function startSwiftS3(bucket = 'shipshape-test'): Promise<SwiftS3> {
  const dir = mkdtempSync(join(tmpdir(), 'shipshape-swift-'));
  const log = join(dir, 'servers.log');
  const logs = () => (existsSync(log) ? readFileSync(log, 'utf8') : '');
  const children: ChildProcess[] = [];
  // A failed run must not leave daemons behind: they are ours, stopped by their handles.
  const killAll = () => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  };
  process.once('exit', killAll);
  const [account, container, object, proxy, memcached] = (await Promise.all(
    Array.from({ length: 5 }, () => freePort()),
  )) as [number, number, number, number, number];
  const endpoint = `http://127.0.0.1:${proxy}`;
  const credentials = { accessKeyId: 'test:tester', secretAccessKey: 'testing' };
  const client = new S3Client({
    region: 'us-east-1',
    endpoint,
    forcePathStyle: true,
    credentials,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: 1,
  });
  try {
    mkdirSync(join(dir, 'devices', 'd1'), { recursive: true });
    const ports = { account, container, object };
    buildRings(dir, ports);
    for (const kind of STORAGE_SERVERS)
      writeFileSync(join(dir, `${kind}.conf`), serverConf(dir, kind, ports[kind]));
    writeFileSync(join(dir, 'proxy.conf'), proxyConf(dir, proxy, memcached));

    const output = openSync(log, 'a');
    // A server that cannot start or dies fails the start at once; only the bucket's creation is retried.
    let failure: Error | undefined;
    const start = (command: string, args: string[]) => {
      const child = spawn(command, args, { stdio: ['ignore', output, output] });
      child.once('error', (error) => {
        failure ??= new Error(`${command}: ${error.message}`);
      });
      child.once('exit', (code, signal) => {
        failure ??= new Error(`${command} exited (${code ?? signal}): ${logs().slice(-3000)}`);
      });
      children.push(child);
    };
    const asRoot = process.getuid?.() === 0 ? ['-u', 'nobody'] : [];
    start(MEMCACHED, ['-l', '127.0.0.1', '-p', String(memcached), '-U', '0', ...asRoot]);
    for (const kind of STORAGE_SERVERS)
      start(`/usr/bin/swift-${kind}-server`, [join(dir, `${kind}.conf`), '-v']);
    start(SWIFT_PROXY, [join(dir, 'proxy.conf'), '-v']);

    const deadline = Date.now() + 60_000;
    for (;;) {
      await sleep(300);
      if (failure) throw failure;
      const created = await client.send(new CreateBucketCommand({ Bucket: bucket })).then(
        () => true,
        (error: unknown) => error,
      );
      if (created === true) break;
      if (Date.now() > deadline)
        throw new Error(
          `Swift did not create the bucket in 60 s (${String(created)}): ${logs().slice(-3000)}`,
        );
    }
  } catch (error) {
    killAll();
    client.destroy();
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }

  const line = new RegExp(`^proxy-server: \\S+ \\S+ \\S+ ([A-Z]+) /${bucket}/(\\S+) HTTP/`);
  const requestsUnder = (prefix: string) =>
    logs()
      .split('\n')
      .flatMap((text) => {
        const [, method, target] = line.exec(text) ?? [];
        if (!method || !target) return [];
        const url = new URL(decodeURIComponent(target), 'http://bucket/');
        if (!url.pathname.slice(1).startsWith(prefix)) return [];
        return [[method, ...[...url.searchParams.keys()].filter((name) => name !== 'x-id')].join(' ')];
      });

  return {
    endpoint,
    bucket,
    credentials,
    client,
    logs,
    requestsUnder,
    async stop() {
      client.destroy();
      process.removeListener('exit', killAll);
      await Promise.all(
        children.map(
          (child) =>
            new Promise<void>((done) => {
              if (child.exitCode !== null || child.signalCode !== null) return done();
              child.once('exit', () => done());
              child.kill('SIGTERM');
            }),
        ),
      );
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
