import { join } from 'node:path';
import knex, { type Knex } from 'knex';
// No relative imports with runtime values here: jest's globalSetup loads this file without the '.js' mapping.
import pg from 'pg';
import type { Logger } from '../observability/logger.js';

export type { Knex } from 'knex';

/** A timestamptz as PostgreSQL prints it in a UTC session: '2026-12-01 23:45:13.123456+00'. */
const UTC_TIMESTAMP = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})(?:\.(\d{1,6}))?\+00$/;

const parseAsDate = pg.types.getTypeParser(pg.types.builtins.TIMESTAMPTZ);

/**
 * timestamptz values arrive as the ISO 8601 strings the API sends ('2026-12-01T23:45:13.123Z', milliseconds
 * truncated as a JavaScript Date would), not as Dates: every row of a notes page has two, and parsing them
 * into Dates only to print them again was 7% of the CPU of GET /api/v1/notes (docs/performance.md, change 9).
 * Connections set their session to UTC (createDatabase), so the fast path always applies; any other offset,
 * a year past 9999 or BC, and 'infinity' go through pg's own parser.
 */
export function timestampToIso(text: string): string {
  const utc = UTC_TIMESTAMP.exec(text);
  if (utc) return `${utc[1]}T${utc[2]}.${`${utc[3] ?? ''}000`.slice(0, 3)}Z`;
  const parsed = parseAsDate(text) as Date | number | string;
  return parsed instanceof Date && !Number.isNaN(parsed.getTime()) ? parsed.toISOString() : text;
}

/** pg's type parsers with timestamptz read by timestampToIso; passed to each connection, so nothing global. */
export const pgTypes = {
  getTypeParser(oid: number, format?: string) {
    if (format === 'binary') return pg.types.getTypeParser(oid, 'binary');
    return oid === pg.types.builtins.TIMESTAMPTZ ? timestampToIso : pg.types.getTypeParser(oid, 'text');
  },
};

/** Two levels up from both src/db (tsx) and dist/db (built): the top-level migrations/ folder. */
export const MIGRATIONS_DIR = join(__dirname, '..', '..', 'migrations');

export interface DatabaseOptions {
  url: string;
  poolMin: number;
  poolMax: number;
  /** Log queries at least this slow, with the logger; unset or 0 is off. */
  slowQueryMs?: number;
  /** knex's own warnings (pool acquisition failures, deprecations) go here instead of the console. */
  logger?: Logger;
}

/** The databases on which preparedQuery names its statements. */
const preparing = new WeakSet<Knex>();

/**
 * Lets preparedQuery run named prepared statements on this database, unless it is the embedded PGlite:
 * PGlite serves every connection from one session, where the names two connections prepare would collide.
 * Until it is called (and where it says no), the same queries run unnamed, which is always safe.
 */
export async function usePreparedStatements(db: Knex): Promise<boolean> {
  if (await isEmbedded(db)) return false;
  markPreparing(db);
  return true;
}

/** Whether the database is the embedded PGlite, which serves every connection from one session. */
export async function isEmbedded(db: Knex): Promise<boolean> {
  const { rows } = await db.raw<{ rows: { version: string }[] }>('select version()');
  return Boolean(rows[0]?.version.includes('PGlite'));
}

/** usePreparedStatements for a database known to be a PostgreSQL server (a replica of one). */
export function markPreparing(db: Knex): void {
  preparing.add(db);
}

/**
 * A hot query as plain parameterised SQL, run as a named prepared statement where the database allows it:
 * PostgreSQL parses and plans it once per connection, and each run sends only the name and the values.
 * Still a knex query: query counts, the slow-query log and spans see it. One name per SQL text.
 */
export function preparedQuery<T>(db: Knex, name: string, sql: string, bindings: readonly Knex.RawBinding[]) {
  const query = db.raw<T>(sql, bindings);
  return preparing.has(db) ? query.options({ name }) : query;
}

/** knex over pg: the URL comes from the environment, the pool is small and bounded. */
export function createDatabase({ url, poolMin, poolMax, slowQueryMs = 0, logger }: DatabaseOptions): Knex {
  const log = (level: 'warn' | 'error' | 'debug') => (message: unknown) =>
    logger?.[level]({ knex: message }, 'knex');
  const db = knex({
    client: 'pg',
    connection: { connectionString: url, application_name: 'shipshape', types: pgTypes },
    pool: {
      min: poolMin,
      max: poolMax,
      // Timestamps print in UTC whatever the server's TimeZone is, so they read straight into ISO 8601.
      afterCreate: (connection: pg.Client, done: (error: Error | null, connection: pg.Client) => void) => {
        connection.query("set time zone 'UTC'", (error) => done(error, connection));
      },
    },
    // Fail fast when the pool is exhausted or the server is gone: the client gets 503, not a hang.
    acquireConnectionTimeout: 5_000,
    log: { warn: log('warn'), error: log('error'), deprecate: log('warn'), debug: log('debug') },
    migrations: { directory: MIGRATIONS_DIR, loadExtensions: ['.js'], tableName: 'knex_migrations' },
  });
  if (logger) logSlowQueries(db, slowQueryMs, logger);
  return db;
}

interface QueryEvent {
  __knexQueryUid: string;
  sql: string;
}

/**
 * Makes slow queries visible: a query that takes at least thresholdMs is logged at warn with its SQL
 * and duration, and the request id and trace id the logger's mixin adds. Bindings are never logged: they
 * hold emails, password hashes and note text. 0 turns it off. PostgreSQL's own log_min_duration_statement
 * sees the same from the server's side (docs/operations.md).
 */
export function logSlowQueries(db: Knex, thresholdMs: number, logger: Logger): void {
  if (thresholdMs <= 0) return;
  const started = new Map<string, number>();
  const finish = (query: QueryEvent, failed: boolean) => {
    const start = started.get(query.__knexQueryUid);
    if (start === undefined) return;
    started.delete(query.__knexQueryUid);
    const durationMs = performance.now() - start;
    if (durationMs >= thresholdMs) {
      logger.warn({ sql: query.sql, durationMs: Math.round(durationMs), failed }, 'slow query');
    }
  };
  db.on('query', (query: QueryEvent) => started.set(query.__knexQueryUid, performance.now()));
  db.on('query-response', (_response: unknown, query: QueryEvent) => finish(query, false));
  db.on('query-error', (_error: unknown, query: QueryEvent) => finish(query, true));
}
