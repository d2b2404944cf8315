import type { Knex } from 'knex';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { JobOutcomes } from './queue.js';

interface QueueRow {
  name: string;
  depth: string | number;
  oldest_seconds: string | number | null;
}

/**
 * Queue depth and the age of the oldest waiting job, read from pg-boss's table at each scrape, and the
 * outcomes this process counted. Depth and age describe the one shared database, so the cluster aggregate
 * takes the max over workers, not the sum.
 */
export function jobMetrics(registry: Registry, db: Knex, types: string[]): JobOutcomes {
  const registers = [registry];
  const completed = new Counter({
    name: 'shipshape_jobs_completed_total',
    help: 'Background jobs that completed, by job type',
    labelNames: ['type'],
    registers,
  });
  const failed = new Counter({
    name: 'shipshape_jobs_failed_total',
    help: 'Background job attempts that failed, by job type and outcome (retry: tried again later; dead: dead-lettered)',
    labelNames: ['type', 'outcome'],
    registers,
  });
  const read = async (): Promise<QueueRow[]> => {
    const result = await db.raw<{ rows: QueueRow[] }>(
      `select name, count(*) as depth, extract(epoch from now() - min(created_on)) as oldest_seconds
         from pgboss.job where state in ('created', 'retry') and name not like '\\_\\_pgboss%' group by name`,
    );
    return result.rows;
  };
  let pending: Promise<QueueRow[]> | undefined;
  const shared = () => {
    pending ??= read().finally(() => setTimeout(() => (pending = undefined), 0));
    return pending;
  };
  // Both gauges read the same rows at one scrape; a type with nothing waiting reads 0, an unreachable
  // database no figure at all rather than a false zero.
  const perType = (name: string, help: string, figure: (row: QueueRow) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ['type'],
      aggregator: 'max',
      registers,
      async collect() {
        const rows = await shared().catch(() => undefined);
        this.reset();
        if (!rows) return;
        for (const type of types) this.set({ type }, 0);
        for (const row of rows) this.set({ type: row.name }, figure(row));
      },
    });
  perType(
    'shipshape_jobs_queue_depth',
    'Jobs waiting to run (created or waiting for a retry), by job type',
    (row) => Number(row.depth),
  );
  perType('shipshape_jobs_oldest_age_seconds', 'Age of the oldest job waiting to run, by job type', (row) =>
    Number(row.oldest_seconds ?? 0),
  );
  return {
    completed: (type) => completed.inc({ type }),
    failed: (type, outcome) => failed.inc({ type, outcome }),
  };
}
