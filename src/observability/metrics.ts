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
  rateLimitFallbacks: Counter<'limiter'>;
  authFailures: Counter<'route'>;
  businessEvents: Counter<'event' | 'outcome'>;
}

/**
 * Buckets around the alert thresholds (2 s warning, 5 s critical): histogram_quantile can only say "p95 is
 * above 2 s" if 2 is a bucket boundary.
 */
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10];

/** Every series starts at 0, so a rate over it exists before the first event (and a dashboard shows 0, not nothing). */
function businessEventsCounter(registers: Registry[]) {
  const counter = new Counter({
    name: 'shipshape_business_events_total',
    help: 'Sign-ups, logins, erasures, lockouts, password and email changes by outcome, verified emails, and notes created',
    labelNames: ['event', 'outcome'],
    registers,
  });
  for (const event of ['signup', 'login', 'erasure', 'password-change', 'email-change'])
    for (const outcome of ['success', 'failure']) counter.inc({ event, outcome }, 0);
  counter.inc({ event: 'lockout', outcome: 'success' }, 0);
  counter.inc({ event: 'email-verification', outcome: 'success' }, 0);
  counter.inc({ event: 'note-created', outcome: 'success' }, 0);
  return counter;
}

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
    rateLimitFallbacks: new Counter({
      name: 'http_rate_limit_local_fallbacks_total',
      help: 'Requests a rate limiter counted in process memory because Redis was unreachable or too slow',
      labelNames: ['limiter'],
      registers,
    }),
    authFailures: new Counter({
      name: 'auth_failures_total',
      help: 'Requests answered 401: a wrong password, or a missing, invalid, expired or revoked token',
      labelNames: ['route'],
      registers,
    }),
    businessEvents: businessEventsCounter(registers),
  };
}

const TOTALS_SQL = `
  select (select count(*) from users) as users,
         (select count(*) from auth_sessions where revoked_at is null and expires_at > now()) as sessions,
         (select count(distinct user_id) from auth_sessions where revoked_at is null and expires_at > now()) as active`;

type Totals = Record<'users' | 'sessions' | 'active', number>;

/**
 * Accounts, live sessions and users with one, read from the database at most once a minute per process: a
 * scrape every 15 s must not count a large table four times a minute in every worker. Every worker reads the
 * same rows, so the cluster's value is the max, not the sum.
 */
export function observeBusinessTotals(metrics: AppMetrics, db: Knex, maxAgeMs = 60_000): void {
  let cached: { at: number; value: Totals } | undefined;
  let pending: Promise<Totals | undefined> | undefined;
  const totals = (): Promise<Totals | undefined> => {
    if (cached && Date.now() - cached.at < maxAgeMs) return Promise.resolve(cached.value);
    // Concurrent scrapes share one query; a failed read keeps the last value rather than a false zero.
    pending ??= db
      .raw(TOTALS_SQL)
      .then(
        ({ rows: [row] }: { rows: Record<keyof Totals, string>[] }) => {
          cached = {
            at: Date.now(),
            value: {
              users: Number(row!.users),
              sessions: Number(row!.sessions),
              active: Number(row!.active),
            },
          };
          return cached.value;
        },
        () => cached?.value,
      )
      .finally(() => {
        pending = undefined;
      });
    return pending;
  };
  const gauge = (name: string, help: string, key: 'users' | 'sessions' | 'active') =>
    new Gauge({
      name,
      help,
      aggregator: 'max',
      registers: [metrics.registry],
      async collect() {
        const current = await totals();
        if (current) this.set(current[key]);
      },
    });
  gauge('shipshape_accounts', 'Accounts that exist', 'users');
  gauge('shipshape_active_sessions', 'Sessions neither expired nor revoked', 'sessions');
  gauge('shipshape_active_users', 'Accounts with at least one live session', 'active');
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
