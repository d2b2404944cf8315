import PgBoss from 'pg-boss';
import type { Logger } from '../observability/logger.js';

/** A failure no retry can fix (a rejected recipient): the job goes to its dead-letter queue at once. */
export class PermanentJobError extends Error {}

export interface JobContext {
  id: string;
  /** The idempotency key it was enqueued with, if any: a handler's side effect can be keyed on it. */
  key?: string;
  attempt: number;
}

export interface JobType<T extends object = object> {
  name: string;
  handle(data: T, context: JobContext): Promise<void>;
  /** A cron expression (UTC): one job per tick across every process sharing the database. */
  cron?: string;
}

export interface QueueSettings {
  pollIntervalMs: number;
  retryLimit: number;
  retryDelaySeconds: number;
  expireSeconds: number;
  batchSize: number;
}

export interface JobOutcomes {
  completed(type: string): void;
  failed(type: string, outcome: 'retry' | 'dead'): void;
}

export interface JobQueue {
  enqueue(type: string, data: object, options?: { key?: string }): Promise<string | null>;
  /** Stop fetching; jobs in flight get until the deadline, then are failed back to be retried. */
  stop(timeoutMs: number): Promise<void>;
  boss: PgBoss;
}

export const deadLetterQueue = (type: string) => `${type}-dead`;
/** How long an enqueue with the same key is refused (at most pg-boss's 12 h archive interval). */
const KEY_WINDOW_SECONDS = 12 * 60 * 60;

/**
 * Background jobs on PostgreSQL through pg-boss: each job type is a queue with retries (exponential backoff
 * from retryDelaySeconds), a dead-letter queue after the last attempt, and an expiry after which a job whose
 * process vanished is retried. With `work` false the queue only enqueues (a web process, a test, a script).
 */
export async function startJobQueue(options: {
  url: string;
  types: JobType<never>[];
  settings: QueueSettings;
  logger: Logger;
  outcomes?: JobOutcomes;
  work: boolean;
}): Promise<JobQueue> {
  const { settings, logger, outcomes } = options;
  const boss = new PgBoss({
    connectionString: options.url,
    max: 2,
    application_name: 'shipshape-jobs',
    supervise: options.work,
    schedule: options.work,
  });
  boss.on('error', (error) => logger.error({ err: error }, 'job queue error'));

  // createQueue from several processes starting at once can deadlock in pg-boss, and it leaves an existing
  // queue's options as they were: create what is missing (the caller retries a first start that lost the
  // race), update what exists so changed settings take effect.
  const ensureQueue = async (name: string, queueOptions: PgBoss.Queue = { name }) => {
    if (await boss.getQueue(name)) await boss.updateQueue(name, queueOptions);
    else await boss.createQueue(name, queueOptions);
  };
  const createQueues = async () => {
    for (const type of options.types) {
      await ensureQueue(deadLetterQueue(type.name));
      await ensureQueue(type.name, {
        name: type.name,
        retryLimit: settings.retryLimit,
        retryDelay: settings.retryDelaySeconds,
        retryBackoff: true,
        expireInSeconds: settings.expireSeconds,
        deadLetter: deadLetterQueue(type.name),
      });
    }
  };

  /** One job of a batch, settled on its own: completed the moment it succeeds, so a drain deadline that fails
   * the batch's unfinished jobs back to the queue never reruns one that already completed. */
  const runJob = async (type: JobType<never>, job: PgBoss.JobWithMetadata<unknown>) => {
    const context: JobContext = {
      id: job.id,
      key: job.singletonKey ?? undefined,
      attempt: job.retryCount + 1,
    };
    const log = logger.child({ job: type.name, jobId: job.id, attempt: context.attempt });
    log.info('job started');
    try {
      await type.handle(job.data as never, context);
      await boss.complete(type.name, job.id);
      outcomes?.completed(type.name);
      log.info('job completed');
    } catch (error) {
      if (error instanceof PermanentJobError) {
        // No retry can succeed: dead-letter it now rather than fail it again on every backoff.
        await boss.send(deadLetterQueue(type.name), { ...(job.data as object), error: error.message });
        await boss.complete(type.name, job.id);
        outcomes?.failed(type.name, 'dead');
        log.warn({ err: error }, 'job failed permanently: dead-lettered');
        return;
      }
      await boss.fail(type.name, job.id, { message: (error as Error).message });
      const last = job.retryCount >= job.retryLimit;
      outcomes?.failed(type.name, last ? 'dead' : 'retry');
      log.warn({ err: error }, last ? 'job failed its last attempt: dead-lettered' : 'job failed: retrying');
    }
  };

  const startWorking = async () => {
    if (!options.work) return;
    for (const type of options.types) {
      let workerId = '';
      workerId = await boss.work(
        type.name,
        {
          pollingIntervalSeconds: settings.pollIntervalMs / 1000,
          batchSize: settings.batchSize,
          includeMetadata: true,
        },
        async (jobs) => {
          await Promise.all(jobs.map((job) => runJob(type, job)));
          // pg-boss waits a poll interval after every fetch; a full batch means more are waiting: fetch now.
          if (jobs.length === settings.batchSize) boss.notifyWorker(workerId);
        },
      );
      if (type.cron) await boss.schedule(type.name, type.cron, {}, { tz: 'UTC' });
      else await boss.unschedule(type.name);
    }
  };

  try {
    await boss.start();
    await createQueues();
    await startWorking();
  } catch (error) {
    // A half-started queue would keep polling and holding connections beside the one a retry starts.
    await boss.stop({ graceful: false, wait: true }).catch(() => {});
    throw error;
  }

  return {
    boss,
    enqueue: (type, data, { key } = {}) =>
      boss.send(type, data, key ? { singletonKey: key, singletonSeconds: KEY_WINDOW_SECONDS } : {}),
    async stop(timeoutMs) {
      await boss.stop({ graceful: true, wait: true, timeout: timeoutMs });
    },
  };
}
