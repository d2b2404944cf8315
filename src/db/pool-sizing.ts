import type { Knex } from 'knex';
import type { Logger } from '../observability/logger.js';

/** Connections kept free for psql, migrations, backups and monitoring. */
export const ADMIN_HEADROOM = 5;

/** Connections a process holds outside its pool: the session cache's LISTEN connection, when the cache is on. */
export function listenersPerProcess(config: { auth: { sessionCacheSeconds: number } }): number {
  return config.auth.sessionCacheSeconds > 0 ? 1 : 0;
}

/**
 * processes x (pool max + listeners) must fit in max_connections minus the superuser reserve and some headroom, or
 * under load the last pools to connect get "too many clients". Warns at start-up rather than at 3 a.m.
 */
export async function warnOnUnsafePoolSize(
  db: Knex,
  logger: Logger,
  { processes, poolMax, listeners = 0 }: { processes: number; poolMax: number; listeners?: number },
): Promise<void> {
  const { rows } = await db.raw(
    "select current_setting('max_connections')::int as max, current_setting('superuser_reserved_connections')::int as reserved",
  );
  const { max, reserved } = rows[0] as { max: number; reserved: number };
  const wanted = processes * (poolMax + listeners);
  const available = max - reserved - ADMIN_HEADROOM;
  if (wanted > available) {
    logger.warn(
      { processes, poolMax, listeners, wanted, maxConnections: max, reserved, available },
      'database pool too large: processes x (DATABASE_POOL_MAX + listeners) exceeds max_connections - reserved - headroom',
    );
  }
}
