import type { Config } from '../config/index.js';
import { isEmbedded } from '../db/knex.js';
import { SessionCache } from '../features/accounts/session-cache.js';
import type { Logger } from '../observability/logger.js';
import type { OpenDatabase } from './database.js';

/**
 * The session cache, on a PostgreSQL server only: PGlite serves every connection from one session, so its
 * notifications cannot be trusted to reach a listener of their own.
 */
export async function startSessionCache(config: Config, database: OpenDatabase, logger: Logger) {
  const ttlMs = config.auth.sessionCacheSeconds * 1000;
  if (ttlMs === 0 || (await isEmbedded(database.db))) return undefined;
  const cache = new SessionCache({
    url: database.url,
    ttlMs,
    logger,
    notify: (channel, payload) => database.db.raw('select pg_notify(?, ?)', [channel, payload]),
  });
  await cache.start();
  return cache;
}
