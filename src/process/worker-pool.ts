import cluster, { type Worker } from 'node:cluster';
import { EX_CONFIG } from '../config/index.js';
import type { Logger } from '../observability/logger.js';
import { assessCrash } from './crash-window.js';
import { isMessage, WORKER_DRAIN, WORKER_READY } from './messages.js';

/** A new worker has this long to open its database and listen before the start or reload counts as failed. */
const START_TIMEOUT_MS = 60_000;
/** A draining worker past its own shutdown deadline by this much is killed. */
const DRAIN_MARGIN_MS = 5_000;

export interface PoolSettings {
  /** WEB_CONCURRENCY: how many workers serve. */
  size: number;
  /** SHUTDOWN_TIMEOUT_MS of the workers: how long a drain may take before the margin runs. */
  shutdownTimeoutMs: number;
}

/** What a worker's exit means for the primary. */
export type ExitOutcome =
  | { kind: 'expected' }
  | { kind: 'refused-configuration' }
  | { kind: 'crash-loop' }
  | { kind: 'replacing'; restartInMs: number };

const exitOf = (worker: Worker) =>
  new Promise<number>((resolve) => {
    if (worker.isDead()) return resolve(worker.process.exitCode ?? 1);
    worker.once('exit', (code) => resolve(code ?? 1));
  });

/**
 * The cluster's workers and their state: forks them, knows which are live (starting or serving, not
 * draining) and which are ready, drains them, rolls them one at a time, tops them up after a death, and
 * keeps the recent deaths for the crash window.
 */
export class WorkerPool {
  private readonly live = new Set<Worker>();
  private readonly readyWorkers = new Set<Worker>();
  private crashes: number[] = [];
  private stopping = false;

  constructor(
    private settings: PoolSettings,
    private readonly logger: Logger,
  ) {}

  /** Workers that answered WORKER_READY and have not exited: the ones a metrics scrape asks. */
  ready(): Worker[] {
    return [...this.readyWorkers];
  }

  get liveCount(): number {
    return this.live.size;
  }

  get size(): number {
    return this.settings.size;
  }

  /** Forks the configured number at once; resolves with how many became ready. */
  async start(): Promise<number> {
    const started = await Promise.allSettled(Array.from({ length: this.settings.size }, () => this.fork()));
    return started.filter((r) => r.status === 'fulfilled').length;
  }

  /** Forks one worker and resolves once it is listening and ready; rejects if it dies or hangs first. */
  fork(): Promise<Worker> {
    return new Promise<Worker>((resolve, reject) => {
      const worker = cluster.fork();
      this.live.add(worker);
      const timer = setTimeout(() => {
        worker.process.kill('SIGKILL');
        reject(new Error(`worker ${worker.process.pid} not ready within ${START_TIMEOUT_MS} ms`));
      }, START_TIMEOUT_MS);
      worker.on('message', (message) => {
        if (!isMessage(message, WORKER_READY)) return;
        clearTimeout(timer);
        this.readyWorkers.add(worker);
        this.logger.info({ pid: worker.process.pid }, 'worker ready');
        resolve(worker);
      });
      worker.once('exit', (code, signal) => {
        this.readyWorkers.delete(worker);
        clearTimeout(timer);
        reject(new Error(`worker ${worker.process.pid} exited (${signal ?? code}) before it was ready`));
      });
    });
  }

  /** Forks until the configured number are live again (not while stopping). */
  ensure(): void {
    while (!this.stopping && this.live.size < this.settings.size)
      this.fork().catch((error: Error) => this.logger.warn(error.message));
  }

  /** Asks a worker to drain and waits; a worker past its own deadline plus a margin is killed. */
  async drain(worker: Worker): Promise<number> {
    this.live.delete(worker);
    if (worker.isConnected()) worker.send({ type: WORKER_DRAIN });
    const killer = setTimeout(
      () => worker.process.kill('SIGKILL'),
      this.settings.shutdownTimeoutMs + DRAIN_MARGIN_MS,
    );
    const code = await exitOf(worker);
    clearTimeout(killer);
    return code;
  }

  /**
   * Zero-downtime roll: one worker at a time, a new one is forked and ready before the old one drains, so
   * capacity never drops below the pool's size; then the pool is resized to the new settings. A worker that
   * fails to start stops the roll (the rest keep serving) by rejecting.
   */
  async roll(next: PoolSettings): Promise<void> {
    this.settings = { ...this.settings, shutdownTimeoutMs: next.shutdownTimeoutMs };
    for (const worker of [...this.live]) {
      if (this.stopping) break;
      await this.fork();
      if (!this.live.has(worker)) continue; // it died meanwhile and was replaced already
      await this.drain(worker);
    }
    this.settings = next;
    for (const extra of [...this.live].slice(next.size)) await this.drain(extra);
    this.ensure();
  }

  /** Drains every worker, those already draining included; resolves with their exit codes. */
  stop(): Promise<number[]> {
    this.stopping = true;
    return Promise.all(Object.values(cluster.workers ?? {}).map((worker) => this.drain(worker!)));
  }

  /** Kills every worker at once (a second stop signal). */
  kill(): void {
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGKILL');
  }

  get isStopping(): boolean {
    return this.stopping;
  }

  /** Bookkeeping for a worker that exited: drained on purpose, a refused configuration, or a death to repair. */
  workerExited(worker: Worker, code: number, signal: string | null, now = Date.now()): ExitOutcome {
    if (!this.live.has(worker) || this.stopping) return { kind: 'expected' };
    this.live.delete(worker);
    if (code === EX_CONFIG) {
      this.logger.fatal({ pid: worker.process.pid }, 'worker refused the configuration (exit 78): stopping');
      return { kind: 'refused-configuration' };
    }
    const { recent, verdict } = assessCrash(this.crashes, now);
    this.crashes = recent;
    if (verdict.kind === 'crash-loop') {
      this.logger.fatal(
        { crashes: verdict.crashes, windowMs: verdict.windowMs },
        `crash loop: ${verdict.crashes} workers died within ${verdict.windowMs / 1000} s; the primary stops so its supervisor sees the failure`,
      );
      return { kind: 'crash-loop' };
    }
    this.logger.error(
      { pid: worker.process.pid, code, signal, restartInMs: verdict.restartInMs },
      'worker died: replacing it',
    );
    setTimeout(() => this.ensure(), verdict.restartInMs).unref();
    return { kind: 'replacing', restartInMs: verdict.restartInMs };
  }
}
