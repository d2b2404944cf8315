import { setFlagsFromString } from 'node:v8';
import { createApp } from '../app.js';
import type { Config } from '../config/index.js';
import { listenersPerProcess, warnOnUnsafePoolSize } from '../db/pool-sizing.js';
import { Lifecycle } from '../health/lifecycle.js';
import { SEND_MAIL } from '../jobs/job-types.js';
import type { JobQueue } from '../jobs/queue.js';
import { startJobs } from '../jobs/start.js';
import { answerMetricsRequests } from '../observability/cluster-metrics.js';
import { createLogger, type Logger } from '../observability/logger.js';
import { createMetrics, observeBusinessTotals, observeDatabasePool } from '../observability/metrics.js';
import { type MetricsServer, startMetricsServer } from '../observability/metrics-server.js';
import { flushSentry, reportUnexpectedError } from '../observability/sentry.js';
import { flushTracing, traceContext } from '../observability/trace-context.js';
import { startServer } from '../server.js';
import { version } from '../version.js';
import { openDatabase } from '../wiring/database.js';
import { closeRedis, connectRedis } from '../wiring/redis.js';
import { startSessionCache } from '../wiring/session-cache.js';
import { exitOnFatalErrors } from './fatal-errors.js';
import { isMessage, WORKER_DRAIN, WORKER_READY } from './messages.js';

export interface WorkerOptions {
  /** Forked by the cluster primary: it serves the aggregated metrics and decides when this worker drains. */
  clustered: boolean;
}

export function workerLogger(config: Config): Logger {
  return createLogger({
    ...config.log,
    base: { env: config.appEnv, version, pid: process.pid },
    mixin: traceContext,
  });
}

/** The metrics of this process: served here when alone, handed to the primary when clustered. */
async function exposeMetrics(
  config: Config,
  registry: ReturnType<typeof createMetrics>['registry'],
  options: WorkerOptions,
  logger: Logger,
): Promise<MetricsServer | undefined> {
  if (options.clustered) {
    answerMetricsRequests(registry);
    return undefined;
  }
  const server = await startMetricsServer(
    { contentType: registry.contentType, collect: () => registry.metrics() },
    config.metrics,
    logger,
  );
  logger.info({ url: server.url }, 'metrics listening');
  return server;
}

/**
 * A serving process allocates fast and most of it dies young, yet under load part of it lives just long
 * enough to be promoted, and V8 by default lets the old generation grow to several times what survived the
 * last full collection before it collects again: a worker with 20 MB of live data reached 160 to 180 MB of
 * RSS. Growing it by at most 100% between full collections holds it near 125 MB for the same CPU
 * (docs/performance.md, change 11). V8 reads this flag each time it sets the next limit, so setting it here
 * works; it is not a NODE_OPTIONS flag.
 */
const HEAP_GROWING_PERCENT = 100;

/** One serving process: the whole app when alone, or one of WEB_CONCURRENCY workers under the primary. */
export async function runWorker(config: Config, options: WorkerOptions): Promise<void> {
  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
  const logger = workerLogger(config);
  const lifecycle = new Lifecycle();
  const database = await openDatabase(config.database, { logger });
  const { db } = database;
  exitOnFatalErrors(logger, async () => {
    await db.destroy();
  });

  if (config.database.migrateOnStart) {
    const [, applied] = await db.migrate.latest();
    if (applied.length > 0) logger.info({ applied }, 'migrations applied');
  }
  const processes = options.clustered ? config.webConcurrency : 1;
  await warnOnUnsafePoolSize(db, logger, {
    processes,
    poolMax: config.database.poolMax,
    listeners: listenersPerProcess(config),
  });
  if (!config.rateLimit.redisUrl && processes > 1) {
    logger.warn('REDIS_URL unset: rate limits are counted per process; set it when running more than one');
  }

  const metrics = createMetrics({ version, commit: config.build.commit, environment: config.appEnv });
  observeDatabasePool(metrics, db);
  observeBusinessTotals(metrics, db);
  const metricsServer = await exposeMetrics(config, metrics.registry, options, logger);

  // Shared rate-limit counters, so the limit is one limit across workers and replicas.
  const redis = config.rateLimit.redisUrl ? await connectRedis(config.rateLimit.redisUrl, logger) : undefined;
  const sessionCache = await startSessionCache(config, database, logger);
  // Started after the listener (below); the app enqueues through it once it exists.
  let jobs: JobQueue | undefined;
  const app = createApp({
    sendMail: async (message, key) => {
      if (!jobs) throw new Error('the job queue is not running (JOBS_ENABLED=false, or still starting)');
      await jobs.enqueue(SEND_MAIL, message, { key });
    },
    config,
    db,
    replica: database.replica,
    logger,
    lifecycle,
    version,
    metrics,
    redis,
    sessionCache,
    onUnexpectedError: reportUnexpectedError,
    onRateLimited: (limiter) => metrics.rateLimited.inc({ limiter }),
    onRateLimitFallback: (limiter) => metrics.rateLimitFallbacks.inc({ limiter }),
  });
  const running = await startServer(app, config.http);
  lifecycle.markStarted();
  logger.info({ url: running.url, env: config.appEnv }, 'ready to serve');
  if (options.clustered) process.send?.({ type: WORKER_READY });
  let stopping = false;
  // After readiness: requests do not wait for the queue (they only enqueue), and a slow or failed queue start
  // (several processes installing its schema at once) is retried rather than taking the process down.
  const startQueue = async (): Promise<void> => {
    while (!stopping) {
      try {
        const started = await startJobs(config, database.url, db, metrics.registry, logger);
        if (stopping) await started.stop(0);
        else jobs = started;
        return;
      } catch (error) {
        logger.error({ err: error }, 'job queue did not start; retrying in 5 s');
        await new Promise((resolve) => setTimeout(resolve, 5_000).unref());
      }
    }
  };
  if (config.jobs.enabled) void startQueue();

  /**
   * Graceful stop: readiness answers 503 at once, the listener stops accepting, in-flight requests
   * finish up to SHUTDOWN_TIMEOUT_MS, idle keep-alive sockets are closed, then the pool, spans, Sentry and
   * logs are flushed. Exit 0 when everything drained; 1 on the deadline or a second signal.
   */
  const stop = async (reason: string, forceOnRepeat: boolean) => {
    if (stopping) {
      if (!forceOnRepeat) return;
      logger.warn({ reason }, 'second signal: exiting now without finishing in-flight requests');
      logger.flush();
      process.exit(1);
    }
    stopping = true;
    const started = Date.now();
    lifecycle.markDraining();
    logger.info({ reason, timeoutMs: config.http.shutdownTimeoutMs }, 'draining');
    // A job in flight gets the same deadline as a request; one still running then is failed back to the
    // queue and retried, never lost.
    const [drained] = await Promise.all([
      running.close(config.http.shutdownTimeoutMs),
      jobs?.stop(config.http.shutdownTimeoutMs),
    ]);
    await metricsServer?.close();
    if (redis) await closeRedis(redis);
    await sessionCache?.close();
    await database.close(2_000);
    await Promise.allSettled([flushTracing(), flushSentry()]);
    logger.info({ drained, drainMs: Date.now() - started }, drained ? 'stopped' : 'stopped at the deadline');
    logger.flush();
    process.exit(drained ? 0 : 1);
  };
  process.on('SIGTERM', () => void stop('SIGTERM', true));
  process.on('SIGINT', () => void stop('SIGINT', true));
  if (options.clustered) {
    // The primary reloads and stops workers by message; a terminal's Ctrl-C or systemd's SIGTERM to the whole
    // group may also arrive, so the same drain must not count twice.
    process.on('message', (message) => {
      if (isMessage(message, WORKER_DRAIN)) void stop('primary asked', false);
    });
    process.on('disconnect', () => void stop('primary gone', false));
    process.on('SIGHUP', () => {});
  } else {
    process.on('SIGHUP', () =>
      logger.warn(
        'SIGHUP ignored: rolling reload needs the cluster primary (WEB_CONCURRENCY > 1, DATABASE_URL set)',
      ),
    );
  }
}
