import type { IRouter } from 'express';
import type { Knex } from 'knex';
import { checkDatabase } from '../db/health.js';
import { pendingMigrations } from '../db/migrations.js';
import type { Lifecycle } from './lifecycle.js';
import { PROBE_PATHS } from './paths.js';

export interface HealthOptions {
  db: Knex;
  lifecycle: Lifecycle;
  /** Migrations this build expects; readiness fails while any is unapplied. */
  shippedMigrations: string[];
}

/**
 * Health, liveness, readiness and startup probes; never rate limited.
 * Mounted straight on the app rather than through a Router of their own: probes are the most frequent
 * requests a service gets, and a nested router costs every one of them a second dispatch.
 */
export function mountHealthRoutes(
  router: IRouter,
  { db, lifecycle, shippedMigrations }: HealthOptions,
): void {
  // The process can answer: nothing else is checked, so a database outage never gets the app restarted.
  router.get([...PROBE_PATHS.live], (_req, res) => {
    res.json({ status: 'alive' });
  });

  router.get([...PROBE_PATHS.health], async (_req, res) => {
    const database = await checkDatabase(db);
    const healthy = database.status === 'up';
    res.status(healthy ? 200 : 503).json({ status: healthy ? 'healthy' : 'unhealthy', checks: { database } });
  });

  router.get([...PROBE_PATHS.ready], async (_req, res) => {
    if (lifecycle.draining) return void res.status(503).json({ status: 'draining', checks: {} });
    const database = await checkDatabase(db);
    const pending = database.status === 'up' ? await pendingMigrations(db, shippedMigrations) : [];
    const migrations = { status: pending.length === 0 ? 'up' : 'pending', pending };
    const ready = lifecycle.started && database.status === 'up' && pending.length === 0;
    res
      .status(ready ? 200 : 503)
      .json({ status: ready ? 'ready' : 'not ready', checks: { database, migrations } });
  });

  router.get([...PROBE_PATHS.startup], (_req, res) => {
    res.status(lifecycle.started ? 200 : 503).json({ status: lifecycle.started ? 'started' : 'starting' });
  });
}
