import type { IRouter, RequestHandler } from 'express';
import type { Knex } from 'knex';
import { checkDatabase } from '../db/health.js';
import { pendingMigrations } from '../db/migrations.js';
import type { Lifecycle } from './lifecycle.js';
import { PROBE_PATHS } from './paths.js';
import { checkRedis, type RedisProbeTarget } from './redis.js';

/** The process can answer: nothing else is checked, so a database outage never gets the app restarted. */
export const answerAlive: RequestHandler = (_req, res) => {
  res.json({ status: 'alive' });
};

export interface HealthOptions {
  db: Knex;
  /** Checked and reported, never a reason to be unready: reads fall back to the primary while it is down. */
  replica?: Knex;
  lifecycle: Lifecycle;
  /** Migrations this build expects; readiness fails while any is unapplied. */
  shippedMigrations: string[];
  /**
   * The rate limiter's Redis, when REDIS_URL is set: reported by readiness but never failing it. The limiter
   * counts per process while Redis is away, so the instance still serves correctly; failing readiness would
   * take every instance out at once for one shared cache outage (docs/scaling.md).
   */
  redis?: RedisProbeTarget | undefined;
}

/**
 * Health, liveness, readiness and startup probes; never rate limited.
 * Mounted straight on the app rather than through a Router of their own: probes are the most frequent
 * requests a service gets, and a nested router costs every one of them a second dispatch.
 */
export function mountHealthRoutes(
  router: IRouter,
  { db, replica, lifecycle, shippedMigrations, redis }: HealthOptions,
): void {
  router.get([...PROBE_PATHS.live], answerAlive); // also answered before the router: http/front-door.ts

  router.get([...PROBE_PATHS.health], async (_req, res) => {
    const [database, replicaCheck] = await Promise.all([
      checkDatabase(db),
      replica && checkDatabase(replica),
    ]);
    const healthy = database.status === 'up';
    res
      .status(healthy ? 200 : 503)
      .json({ status: healthy ? 'healthy' : 'unhealthy', checks: { database, replica: replicaCheck } });
  });

  router.get([...PROBE_PATHS.ready], async (_req, res) => {
    if (lifecycle.draining) return void res.status(503).json({ status: 'draining', checks: {} });
    const [database, replicaCheck, redisCheck] = await Promise.all([
      checkDatabase(db),
      replica && checkDatabase(replica),
      redis && checkRedis(redis),
    ]);
    const pending = database.status === 'up' ? await pendingMigrations(db, shippedMigrations) : [];
    const migrations = { status: pending.length === 0 ? 'up' : 'pending', pending };
    // A replica or Redis that is down is reported, never a reason to leave the load balancer: reads fall back
    // to the primary and rate limits to this process (docs/high-availability.md, docs/scaling.md).
    const ready = lifecycle.started && database.status === 'up' && pending.length === 0;
    res.status(ready ? 200 : 503).json({
      status: ready ? 'ready' : 'not ready',
      checks: {
        database,
        migrations,
        ...(replicaCheck && { replica: replicaCheck }),
        ...(redisCheck && { redis: redisCheck }),
      },
    });
  });

  router.get([...PROBE_PATHS.startup], (_req, res) => {
    res.status(lifecycle.started ? 200 : 503).json({ status: lifecycle.started ? 'started' : 'starting' });
  });
}
