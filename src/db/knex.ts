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
  /** knex's own warnings (pool acquisition failures, deprecations) go here instead of the console. */
  logger?: Logger;
}

/** knex over pg (DB-2): the URL comes from the environment, the pool is small and bounded (DB-3). */
export function createDatabase({ url, poolMin, poolMax, logger }: DatabaseOptions): Knex {
  const log = (level: 'warn' | 'error' | 'debug') => (message: unknown) =>
    logger?.[level]({ knex: message }, 'knex');
  return knex({
    client: 'pg',
    connection: { connectionString: url, application_name: 'shipshape' },
    pool: { min: poolMin, max: poolMax },
    // Fail fast when the pool is exhausted or the server is gone: the client gets 503, not a hang.
    acquireConnectionTimeout: 5_000,
    log: { warn: log('warn'), error: log('error'), deprecate: log('warn'), debug: log('debug') },
    migrations: { directory: MIGRATIONS_DIR, loadExtensions: ['.js'], tableName: 'knex_migrations' },
  });
}
