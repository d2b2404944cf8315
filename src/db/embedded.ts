import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { resolve } from 'node:path';
import type { Logger } from '../observability/logger.js';

/**
 * The zero-install database for development and tests: PostgreSQL compiled to WebAssembly (PGlite), served
 * over the real wire protocol so the app talks to it through pg exactly as it talks to a server. It is a dev
 * dependency: production never loads it and must set DATABASE_URL.
 */
export interface EmbeddedDatabase {
  url: string;
  stop(): Promise<void>;
  /** A tarball of the data folder as it is now: a template that opens in well under a second. */
  dump(): Promise<Blob>;
}

export interface EmbeddedOptions {
  /** A folder to keep the data in, or '' for a throw-away in-memory database. */
  dataDir: string;
  logger?: Logger;
  /** At least every pool that will connect; PGlite's own default admits a single connection. */
  maxConnections?: number;
  port?: number;
  /** Start from a dump() instead of running initdb (seconds). */
  template?: Blob;
}

interface ServerRecord {
  pid: number;
  port: number;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = createConnection({ host: '127.0.0.1', port }, () => {
      socket.end();
      done(true);
    });
    socket.on('error', () => done(false));
  });
}

const urlFor = (port: number) => `postgres://postgres:postgres@127.0.0.1:${port}/postgres`;

/**
 * One data folder must have one PGlite: a second process (`npm run migrate` while `npm run dev` runs) finds
 * the first one's record beside the folder and connects to it instead of opening the files twice.
 */
async function findRunningServer(recordPath: string): Promise<ServerRecord | undefined> {
  try {
    const record = JSON.parse(readFileSync(recordPath, 'utf8')) as ServerRecord;
    if (record.pid !== process.pid && isAlive(record.pid) && (await canConnect(record.port))) return record;
  } catch {
    // no record, or a stale one: start our own
  }
  return undefined;
}

export async function startEmbeddedDatabase(options: EmbeddedOptions): Promise<EmbeddedDatabase> {
  const dataDir = options.dataDir ? resolve(options.dataDir) : '';
  const recordPath = dataDir && `${dataDir}.server.json`;
  if (recordPath) {
    const running = await findRunningServer(recordPath);
    if (running) {
      options.logger?.info(
        { port: running.port, pid: running.pid },
        'embedded database: sharing a running server',
      );
      return {
        url: urlFor(running.port),
        stop: async () => {},
        dump: () => Promise.reject(new Error('the database belongs to another process')),
      };
    }
    mkdirSync(dataDir, { recursive: true });
  }

  const { PGlite } = await import('@electric-sql/pglite');
  const { PGLiteSocketServer } = await import('@electric-sql/pglite-socket');
  const db = await PGlite.create({ dataDir: dataDir || undefined, loadDataDir: options.template });
  const server = new PGLiteSocketServer({
    db,
    host: '127.0.0.1',
    port: options.port ?? 0,
    maxConnections: options.maxConnections ?? 100,
  });
  await server.start();
  const port = Number(server.getServerConn().split(':').pop());
  if (recordPath)
    writeFileSync(recordPath, JSON.stringify({ pid: process.pid, port } satisfies ServerRecord));
  options.logger?.info(
    { port, dataDir: dataDir || 'memory' },
    'embedded database: PGlite listening on 127.0.0.1',
  );

  return {
    url: urlFor(port),
    async stop() {
      await server.stop();
      await db.close();
      if (recordPath) rmSync(recordPath, { force: true });
    },
    dump: () => db.dumpDataDir('none'),
  };
}
