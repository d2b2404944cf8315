import cluster, { type Worker } from 'node:cluster';
import { type Config, ConfigError, EX_CONFIG, loadConfig, loadDotEnv } from '../config/index.js';
import { clusterMetrics } from '../observability/cluster-metrics.js';
import type { Logger } from '../observability/logger.js';
import { startMetricsServer } from '../observability/metrics-server.js';
import { isMessage, WORKER_DRAIN, WORKER_READY } from './messages.js';

/** More unplanned worker deaths than this within the window is a crash loop: stop and let the supervisor see. */
const CRASH_LIMIT = 5;
const CRASH_WINDOW_MS = 60_000;
/** A new worker has this long to open its database and listen before the start or reload counts as failed. */
const START_TIMEOUT_MS = 60_000;

/** 250 ms, 500 ms, 1 s ... capped at 10 s: a worker that dies at once does not spin the CPU. */
const backoffMs = (recentCrashes: number) => Math.min(10_000, 250 * 2 ** Math.max(0, recentCrashes - 1));

/**
 * The cluster primary (SRV-1, SRV-2, SRV-4): forks WEB_CONCURRENCY workers, replaces those that die, rolls
 * them one at a time on SIGHUP, drains them on SIGTERM/SIGINT and serves their aggregated metrics. It opens no
 * database and serves no request itself, so it has little reason to crash.
 */
export async function runPrimary(initial: Config, logger: Logger): Promise<void> {
  let config = initial;
  let desired = config.webConcurrency;
  const live = new Set<Worker>(); // starting or serving; not those being drained
  const crashes: number[] = [];
  let stopping = false;
  let reloading = false;
  /** A SIGHUP during a reload: the release may have changed again, so one more roll follows this one. */
  let reloadQueued = false;

  const ready = new Set<Worker>(); // answered WORKER_READY and not yet exited
  const metricsServer = await startMetricsServer(
    clusterMetrics(() => [...ready]),
    config.metrics,
    logger,
  );

  const waitForExit = (worker: Worker) =>
    new Promise<number>((resolve) => {
      if (worker.isDead()) return resolve(worker.process.exitCode ?? 1);
      worker.once('exit', (code) => resolve(code ?? 1));
    });

  /** Forks one worker and resolves once it is listening and ready; rejects if it dies or hangs first. */
  const fork = () =>
    new Promise<Worker>((resolve, reject) => {
      const worker = cluster.fork();
      live.add(worker);
      const timer = setTimeout(() => {
        worker.process.kill('SIGKILL');
        reject(new Error(`worker ${worker.process.pid} not ready within ${START_TIMEOUT_MS} ms`));
      }, START_TIMEOUT_MS);
      worker.on('message', (message) => {
        if (!isMessage(message, WORKER_READY)) return;
        clearTimeout(timer);
        ready.add(worker);
        logger.info({ pid: worker.process.pid }, 'worker ready');
        resolve(worker);
      });
      worker.once('exit', (code, signal) => {
        ready.delete(worker);
        clearTimeout(timer);
        reject(new Error(`worker ${worker.process.pid} exited (${signal ?? code}) before it was ready`));
      });
    });

  const ensureWorkers = () => {
    while (!stopping && live.size < desired) fork().catch((error: Error) => logger.warn(error.message));
  };

  /** Asks a worker to drain and waits; a worker past its own deadline plus a margin is killed. */
  const drain = async (worker: Worker) => {
    live.delete(worker);
    if (worker.isConnected()) worker.send({ type: WORKER_DRAIN });
    const killer = setTimeout(() => worker.process.kill('SIGKILL'), config.http.shutdownTimeoutMs + 5_000);
    const code = await waitForExit(worker);
    clearTimeout(killer);
    return code;
  };

  const shutdown = async (reason: string, code: number) => {
    stopping = true;
    logger.info({ reason, workers: live.size }, 'primary: draining every worker');
    const codes = await Promise.all(Object.values(cluster.workers ?? {}).map((w) => drain(w!)));
    await metricsServer.close();
    const failed = codes.some((c) => c !== 0);
    logger.info({ codes }, 'primary: stopped');
    logger.flush();
    process.exit(code !== 0 ? code : failed ? 1 : 0);
  };

  cluster.on('exit', (worker, code, signal) => {
    if (!live.has(worker) || stopping) return; // drained on purpose
    live.delete(worker);
    if (code === EX_CONFIG) {
      logger.fatal({ pid: worker.process.pid }, 'worker refused the configuration (exit 78): stopping');
      void shutdown('bad configuration', EX_CONFIG);
      return;
    }
    const now = Date.now();
    crashes.push(now);
    while (crashes.length > 0 && crashes[0]! < now - CRASH_WINDOW_MS) crashes.shift();
    if (crashes.length > CRASH_LIMIT) {
      logger.fatal(
        { crashes: crashes.length, windowMs: CRASH_WINDOW_MS },
        `crash loop: ${crashes.length} workers died within ${CRASH_WINDOW_MS / 1000} s; the primary stops so its supervisor sees the failure`,
      );
      void shutdown('crash loop', 1);
      return;
    }
    const delay = backoffMs(crashes.length);
    logger.error({ pid: worker.process.pid, code, signal, restartInMs: delay }, 'worker died: replacing it');
    setTimeout(ensureWorkers, delay).unref();
  });

  /**
   * Zero-downtime reload (SRV-4, OPS-4): one worker at a time, a new one is forked and ready before the old
   * one drains, so capacity never drops below WEB_CONCURRENCY. New workers load the code and configuration
   * from disk afresh; a configuration that no longer validates cancels the reload.
   */
  const reload = async () => {
    if (stopping) return logger.warn('stopping: SIGHUP ignored');
    if (reloading) {
      reloadQueued = true;
      return logger.info('reload in progress: another follows it, so the newest release is loaded');
    }
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
    reloading = true;
    const started = Date.now();
    const old = [...live];
    logger.info({ workers: old.length }, 'reload: rolling workers one at a time');
    try {
      for (const worker of old) {
        if (stopping) break;
        await fork();
        if (!live.has(worker)) continue; // it died meanwhile and was replaced already
        await drain(worker);
      }
      desired = config.webConcurrency;
      for (const extra of [...live].slice(desired)) await drain(extra);
      ensureWorkers();
      logger.info({ ms: Date.now() - started }, 'reload: done');
    } catch (error) {
      logger.error({ err: error }, 'reload stopped: a new worker failed to start; the rest keep serving');
    } finally {
      reloading = false;
    }
    if (reloadQueued && !stopping) {
      reloadQueued = false;
      await reload();
    }
  };

  let signals = 0;
  const onStop = (signal: string) => {
    signals += 1;
    if (signals > 1) {
      logger.warn({ signal }, 'second signal: killing workers and exiting now');
      for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGKILL');
      logger.flush();
      process.exit(1);
    }
    void shutdown(signal, 0);
  };
  process.on('SIGTERM', () => onStop('SIGTERM'));
  process.on('SIGINT', () => onStop('SIGINT'));
  process.on('SIGHUP', () => void reload());

  logger.info({ workers: desired, metrics: metricsServer.url }, 'primary: starting workers');
  const started = await Promise.allSettled(Array.from({ length: desired }, fork));
  const readyCount = started.filter((r) => r.status === 'fulfilled').length;
  logger.info({ ready: readyCount, desired }, 'primary: workers started');
}
