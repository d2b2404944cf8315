import { join } from 'node:path';
import knex, { type Knex } from 'knex';
import type { Logger } from '../observability/logger.js';

export type { Knex } from 'knex';

/** Two levels up from both src/db (tsx) and dist/db (built): the top-level migrations/ folder. */
export const MIGRATIONS_DIR = join(__dirname, '..', '..', 'migrations');

export interface DatabaseOptions {
  url: string;
  poolMin: number;
  poolMax: number;
  /** Log queries at least this slow, with the logger (DB-7); unset or 0 is off. */
  slowQueryMs?: number;
  /** knex's own warnings (pool acquisition failures, deprecations) go here instead of the console. */
  logger?: Logger;
}

/** knex over pg (DB-2): the URL comes from the environment, the pool is small and bounded (DB-3). */
export function createDatabase({ url, poolMin, poolMax, slowQueryMs = 0, logger }: DatabaseOptions): Knex {
  const log = (level: 'warn' | 'error' | 'debug') => (message: unknown) =>
    logger?.[level]({ knex: message }, 'knex');
  const db = knex({
    client: 'pg',
    connection: { connectionString: url, application_name: 'shipshape' },
    pool: { min: poolMin, max: poolMax },
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
 * Makes slow queries visible (DB-7): a query that takes at least thresholdMs is logged at warn with its SQL
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
