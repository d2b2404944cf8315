import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { type EmbeddedDatabase, startEmbeddedDatabase } from '../src/db/embedded.js';
import { createDatabase } from '../src/db/knex.js';
import { NODE_OPTIONS as SHIPSHAPE_NODE_OPTIONS } from '../src/process/node-flags.js';
import { freePort } from '../test/support/net.js';
import { type Pinning, processTicks, processTree, rssBytes } from './system.js';

const ROOT = join(__dirname, '..');

export type ServerKind = 'raw' | 'express' | 'express-pg' | 'fastify-pg' | 'shipshape';

/** The reference servers: each a plain script in bench/servers/ (the -pg peers read the bench database). */
const PEER_SCRIPTS: Record<Exclude<ServerKind, 'shipshape'>, string> = {
  raw: 'raw-node.js',
  express: 'bare-express.js',
  'express-pg': 'express-pg.js',
  'fastify-pg': 'fastify-pg.js',
};

export interface ServerSettings {
  kind: ServerKind;
  workers: number;
  pinning: Pinning;
  databaseUrl: string;
  rateLimitMax: number;
  logFile: string;
  /**
   * Another build of shipshape (a folder with dist/, migrations/ and node_modules/, see bench/baseline.sh)
   * instead of this checkout's; BENCH_BUILD sets it for every shipshape server of a run.
   */
  root?: string;
  /** Extra node flags, e.g. --cpu-prof for bench/profile.ts. */
  nodeArgs?: string[];
  /** Settings on top of the bench's own, for shipshape (BENCH_BASELINE_ENV). */
  env?: Record<string, string>;
}

export interface RunningServer {
  url: string;
  pid: number;
  readyMs: number;
  /** Every process of the server (a cluster primary and its workers). */
  pids(): number[];
  cpuTicks(): number;
  /** The sum over the server's processes, and the largest one (a worker). */
  rss(): { total: number; largest: number };
  logBytes(): number;
  stop(): Promise<void>;
}

/**
 * Production mode as a deployment runs it (APP_ENV=production, NODE_ENV=production), with a secret made now.
 * The general rate limit stays on with the production window; only its count is raised (see rateLimitMax).
 */
function shipshapeEnv(settings: ServerSettings, port: number, metricsPort: number): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    NODE_ENV: 'production',
    APP_ENV: 'production',
    SECRET_KEY: randomBytes(48).toString('base64url'),
    DATABASE_URL: settings.databaseUrl,
    TRUST_PROXY: '1',
    CORS_ORIGINS: 'https://app.example.test',
    HOST: '127.0.0.1',
    PORT: String(port),
    METRICS_PORT: String(metricsPort),
    WEB_CONCURRENCY: String(settings.workers),
    RATE_LIMIT_MAX: String(settings.rateLimitMax),
    // As the Dockerfile and the systemd unit start it (test/runtime-flags.test.ts keeps the three the same).
    NODE_OPTIONS: SHIPSHAPE_NODE_OPTIONS,
    ...settings.env,
  };
}

/** The Node that runs every server: BENCH_NODE (e.g. the Node 24 the Dockerfile ships), else the one on PATH. */
export const SERVER_NODE = process.env.BENCH_NODE || 'node';

/** The version SERVER_NODE reports, for the header of the output. */
export function serverNodeVersion(): string {
  return execFileSync(SERVER_NODE, ['--version'], { encoding: 'utf8' }).trim();
}

function commandFor(kind: ServerKind, nodeArgs: string[], root: string): string[] {
  if (kind !== 'shipshape') return [SERVER_NODE, ...nodeArgs, join(__dirname, 'servers', PEER_SCRIPTS[kind])];
  return [SERVER_NODE, ...nodeArgs, join(root, 'dist', 'main.js')];
}

async function waitForReady(url: string, child: ChildProcess, deadlineMs: number): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error('exited');
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(1_000) });
      await response.arrayBuffer();
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`not ready within ${deadlineMs} ms: ${url}`);
}

function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
}

/** The last lines a server wrote, for an error that has to say why it stopped. */
function logTail(file: string, lines = 20): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/**
 * Spawns one server pinned to its core(s) and waits until it answers; the time to that answer is readyMs.
 * A server that exits before it is ready is started once more on new ports (a port the kernel handed out can be
 * taken by another process before the server binds it), its log printed; a second failure ends the run with it.
 */
export async function startServer(settings: ServerSettings): Promise<RunningServer> {
  try {
    return await startServerOnce(settings);
  } catch (error) {
    if (!(error instanceof ServerExited)) throw error;
    process.stderr.write(`  ${error.message}; starting it once more\n`);
    return startServerOnce(settings);
  }
}

class ServerExited extends Error {}

async function startServerOnce(settings: ServerSettings): Promise<RunningServer> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const env =
    settings.kind === 'shipshape'
      ? shipshapeEnv(settings, port, await freePort())
      : {
          PATH: process.env.PATH,
          NODE_ENV: 'production',
          PORT: String(port),
          DATABASE_URL: settings.databaseUrl,
        };
  const cores = settings.workers > 1 ? '0,1' : '1';
  const command = [
    ...settings.pinning.prefix(cores),
    ...commandFor(settings.kind, settings.nodeArgs ?? [], settings.root ?? process.env.BENCH_BUILD ?? ROOT),
  ];
  const log = openSync(settings.logFile, 'w');
  const started = performance.now();
  const child = spawn(command[0]!, command.slice(1), {
    cwd: settings.root ?? process.env.BENCH_BUILD ?? ROOT,
    env,
    stdio: ['ignore', log, log],
  });
  closeSync(log);
  try {
    await waitForReady(settings.kind === 'shipshape' ? `${url}/health/ready` : url, child, 30_000);
  } catch (error) {
    child.kill('SIGKILL');
    if (child.exitCode === null) throw error;
    throw new ServerExited(
      `the ${settings.kind} server exited with status ${child.exitCode} before it was ready; the end of its log (${settings.logFile}):\n${logTail(settings.logFile)}`,
    );
  }
  const readyMs = performance.now() - started;
  const pid = child.pid!;
  const pids = () => processTree(pid);
  return {
    url,
    pid,
    readyMs,
    pids,
    cpuTicks: () => pids().reduce((sum, p) => sum + processTicks(p), 0),
    rss: () => {
      const sizes = pids().map(rssBytes);
      return { total: sizes.reduce((a, b) => a + b, 0), largest: Math.max(...sizes) };
    },
    logBytes: () => statSync(settings.logFile).size,
    async stop() {
      const gone = exited(child);
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await gone;
      clearTimeout(timer);
    },
  };
}

export interface BenchDatabase {
  kind: string;
  url: string;
  /** Backends serving the bench (PostgreSQL server processes); empty for the embedded one, which runs in this process. */
  backendPids(): Promise<number[]>;
  close(): Promise<void>;
}

async function migrate(url: string): Promise<void> {
  const db = createDatabase({ url, poolMin: 0, poolMax: 1 });
  try {
    await db.migrate.latest();
  } finally {
    await db.destroy();
  }
}

/**
 * PostgreSQL 15 at BENCH_DATABASE_URL (a database the bench may write to), else the embedded PGlite served
 * from this process, which runs on the load generator's core so the server's core stays its own.
 */
export async function openBenchDatabase(serverUrl: string | undefined): Promise<BenchDatabase> {
  if (serverUrl) {
    await migrate(serverUrl);
    const client = new pg.Client({ connectionString: serverUrl });
    await client.connect();
    const version = (await client.query<{ server_version: string }>('show server_version')).rows[0]
      ?.server_version;
    return {
      kind: `PostgreSQL ${version} (BENCH_DATABASE_URL)`,
      url: serverUrl,
      async backendPids() {
        const result = await client.query<{ pid: number }>(
          'select pid from pg_stat_activity where datname = current_database()',
        );
        return result.rows.map((row) => row.pid);
      },
      close: () => client.end(),
    };
  }
  const embedded: EmbeddedDatabase = await startEmbeddedDatabase({ dataDir: '', maxConnections: 100 });
  await migrate(embedded.url);
  return {
    kind: 'embedded PostgreSQL (PGlite, in memory, served by the bench process); set BENCH_DATABASE_URL for PostgreSQL 15',
    url: embedded.url,
    backendPids: async () => [],
    close: () => embedded.stop(),
  };
}

export interface Fixture {
  token: string;
  notes: number;
}

async function call(url: string, init: RequestInit & { token?: string } = {}): Promise<unknown> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (init.token) headers.authorization = `Bearer ${init.token}`;
  const response = await fetch(url, { ...init, headers });
  const text = await response.text();
  if (!response.ok) throw new Error(`${init.method ?? 'GET'} ${url}: ${response.status} ${text}`);
  return JSON.parse(text);
}

/** One account with a full page of notes, through the API as a client makes them. */
export async function seed(baseUrl: string, pageSize: number): Promise<Fixture> {
  const email = `bench-${randomBytes(6).toString('hex')}@example.test`;
  const password = randomBytes(18).toString('base64url');
  const credentials = JSON.stringify({ email, password });
  await call(`${baseUrl}/api/v1/auth/register`, { method: 'POST', body: credentials });
  const { token } = (await call(`${baseUrl}/api/v1/auth/login`, { method: 'POST', body: credentials })) as {
    token: string;
  };
  const notes = pageSize + 5;
  for (let i = 0; i < notes; i++) {
    const body = JSON.stringify({
      title: `note ${i}`,
      body: 'A note written by the benchmark to fill a page.',
    });
    await call(`${baseUrl}/api/v1/notes`, { method: 'POST', body, token });
  }
  return { token, notes };
}
