import type { Knex } from 'knex';
import type { Logger } from '../observability/logger.js';

/** Connections kept free for psql, migrations, backups and monitoring. */
export const ADMIN_HEADROOM = 5;

/**
 * processes x pool max must fit in max_connections minus the superuser reserve and some headroom, or
 * under load the last pools to connect get "too many clients". Warns at start-up rather than at 3 a.m.
 */
export async function warnOnUnsafePoolSize(
  db: Knex,
  logger: Logger,
  { processes, poolMax }: { processes: number; poolMax: number },
): Promise<void> {
  const { rows } = await db.raw(
    "select current_setting('max_connections')::int as max, current_setting('superuser_reserved_connections')::int as reserved",
  );
  const { max, reserved } = rows[0] as { max: number; reserved: number };
  const wanted = processes * poolMax;
  const available = max - reserved - ADMIN_HEADROOM;
  if (wanted > available) {
    logger.warn(
      { processes, poolMax, wanted, maxConnections: max, reserved, available },
      'database pool too large: processes x DATABASE_POOL_MAX exceeds max_connections - reserved - headroom',
    );
  }
}
