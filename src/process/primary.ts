import cluster from 'node:cluster';
import { type Config, ConfigError, EX_CONFIG, loadConfig, loadDotEnv } from '../config/index.js';
import { clusterMetrics } from '../observability/cluster-metrics.js';
import type { Logger } from '../observability/logger.js';
import { startMetricsServer } from '../observability/metrics-server.js';
import { type PoolSettings, WorkerPool } from './worker-pool.js';

const poolSettings = (config: Config): PoolSettings => ({
  size: config.webConcurrency,
  shutdownTimeoutMs: config.http.shutdownTimeoutMs,
});

/**
 * Runs `task` now, or once more after the current run when called during one: calls that arrive meanwhile
 * are folded into that one extra run, so the newest state is always acted on and no two runs overlap.
 */
export function oneAtATime(task: () => Promise<void>, onQueued: () => void): () => Promise<void> {
  let running = false;
  let queued = false;
  const run = async (): Promise<void> => {
    if (running) {
      queued = true;
      return onQueued();
    }
    running = true;
    try {
      await task();
    } finally {
      running = false;
    }
    if (queued) {
      queued = false;
      await run();
    }
  };
  return run;
}

/**
 * The cluster primary: a worker pool of WEB_CONCURRENCY and the signals that drive it.
 * Dead workers are replaced, SIGHUP rolls them one at a time, SIGTERM/SIGINT drain them; the primary serves
 * their aggregated metrics. It opens no database and serves no request itself, so it has little reason to
 * crash.
 */
export async function runPrimary(initial: Config, logger: Logger): Promise<void> {
  const pool = new WorkerPool(poolSettings(initial), logger);
  const metricsServer = await startMetricsServer(
    clusterMetrics(() => pool.ready()),
    initial.metrics,
    logger,
  );

  const shutdown = async (reason: string, code: number) => {
    logger.info({ reason, workers: pool.liveCount }, 'primary: draining every worker');
    const codes = await pool.stop();
    await metricsServer.close();
    const failed = codes.some((c) => c !== 0);
    logger.info({ codes }, 'primary: stopped');
    logger.flush();
    process.exit(code !== 0 ? code : failed ? 1 : 0);
  };

  cluster.on('exit', (worker, code, signal) => {
    const outcome = pool.workerExited(worker, code, signal);
    if (outcome.kind === 'refused-configuration') void shutdown('bad configuration', EX_CONFIG);
    if (outcome.kind === 'crash-loop') void shutdown('crash loop', 1);
  });

  /**
   * Zero-downtime reload: new workers load the code and configuration from disk afresh; a
   * configuration that no longer validates cancels the reload. A SIGHUP during a reload is followed by one
   * more, since the release may have changed again.
   */
  const roll = async () => {
    if (pool.isStopping) return;
    let config: Config;
    try {
      loadDotEnv();
      config = loadConfig(process.env);
    } catch (error) {
      const detail = error instanceof ConfigError ? error.message : String(error);
      return logger.error(
        { detail },
        'reload cancelled: the new configuration is invalid; workers keep running',
      );
    }
    const started = Date.now();
    logger.info({ workers: pool.liveCount }, 'reload: rolling workers one at a time');
    try {
      await pool.roll(poolSettings(config));
      logger.info({ ms: Date.now() - started }, 'reload: done');
    } catch (error) {
      logger.error({ err: error }, 'reload stopped: a new worker failed to start; the rest keep serving');
    }
  };
  const reload = oneAtATime(roll, () =>
    logger.info('reload in progress: another follows it, so the newest release is loaded'),
  );

  let signals = 0;
  const onStop = (signal: string) => {
    signals += 1;
    if (signals > 1) {
      logger.warn({ signal }, 'second signal: killing workers and exiting now');
      pool.kill();
      logger.flush();
      process.exit(1);
    }
    void shutdown(signal, 0);
  };
  process.on('SIGTERM', () => onStop('SIGTERM'));
  process.on('SIGINT', () => onStop('SIGINT'));
  process.on('SIGHUP', () => {
    if (pool.isStopping) return logger.warn('stopping: SIGHUP ignored');
    void reload();
  });

  logger.info({ workers: pool.size, metrics: metricsServer.url }, 'primary: starting workers');
  const ready = await pool.start();
  logger.info({ ready, desired: pool.size }, 'primary: workers started');
}
