import type { Knex } from 'knex';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

export interface BuildInfo {
  version: string;
  commit: string;
  environment: string;
}

/** Everything the app counts: request rate, errors and duration by route, process, DB pool, build. */
export interface AppMetrics {
  registry: Registry;
  httpRequests: Counter<'method' | 'route' | 'status_code'>;
  httpDuration: Histogram<'method' | 'route' | 'status_code'>;
  rateLimited: Counter<'limiter'>;
  authFailures: Counter<'route'>;
}

/**
 * Buckets around the alert thresholds (2 s warning, 5 s critical): histogram_quantile can only say "p95 is
 * above 2 s" if 2 is a bucket boundary.
 */
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10];

export function createMetrics(build: BuildInfo): AppMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];

  // max, not the default sum: with four workers the aggregate must still read 1, not 4.
  new Gauge({
    name: 'shipshape_build_info',
    help: 'The running build: always 1, labelled with version, commit, Node version and environment',
    labelNames: ['version', 'commit', 'node_version', 'environment'],
    aggregator: 'max',
    registers,
  }).set({ ...build, node_version: process.version }, 1);

  return {
    registry,
    httpRequests: new Counter({
      name: 'http_requests_total',
      help: 'HTTP requests answered, by method, route template and status code',
      labelNames: ['method', 'route', 'status_code'],
      registers,
    }),
    httpDuration: new Histogram({
      name: 'http_request_duration_seconds',
      help: 'Time from the request reaching the app to the response being sent, by route template',
      labelNames: ['method', 'route', 'status_code'],
      buckets: DURATION_BUCKETS,
      registers,
    }),
    rateLimited: new Counter({
      name: 'http_rate_limited_total',
      help: 'Requests refused with 429 by a rate limiter',
      labelNames: ['limiter'],
      registers,
    }),
    authFailures: new Counter({
      name: 'auth_failures_total',
      help: 'Requests answered 401: a wrong password, or a missing, invalid, expired or revoked token',
      labelNames: ['route'],
      registers,
    }),
  };
}

/** The slice of tarn's pool that knex exposes on db.client.pool. */
interface PoolStats {
  numUsed(): number;
  numFree(): number;
  numPendingAcquires(): number;
  max: number;
}

/** Pool gauges read at scrape time: used / max near 1 with pending acquires means saturation. */
export function observeDatabasePool(metrics: AppMetrics, db: Knex): void {
  const pool = () => (db.client as { pool?: PoolStats }).pool;
  const registers = [metrics.registry];
  const gauge = (name: string, help: string, read: (p: PoolStats) => number) =>
    new Gauge({
      name,
      help,
      registers,
      collect() {
        const current = pool();
        this.set(current ? read(current) : 0);
      },
    });
  gauge('db_pool_used_connections', 'Connections lent out to queries', (p) => p.numUsed());
  gauge('db_pool_free_connections', 'Open connections idle in the pool', (p) => p.numFree());
  gauge('db_pool_pending_acquires', 'Queries waiting for a connection', (p) => p.numPendingAcquires());
  gauge('db_pool_max_connections', 'The pool size limit (DATABASE_POOL_MAX)', (p) => p.max);
}
