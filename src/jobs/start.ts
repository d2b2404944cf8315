import type { Knex } from 'knex';
import pg from 'pg';
import type { Registry } from 'prom-client';
import type { Config } from '../config/index.js';
import { type Mailer, outboxMailer, smtpMailer } from '../mail/mailer.js';
import type { Logger } from '../observability/logger.js';
import { fileStoreFor } from '../storage/files.js';
import { purgeExpiredSessionsJob, sendMailJob } from './job-types.js';
import { jobMetrics } from './metrics.js';
import { deadLetterQueue, type JobQueue, startJobQueue } from './queue.js';

export function createMailer(config: Config, logger: Logger): Mailer {
  const { smtpUrl, outboxDir, from } = config.mail;
  return smtpUrl ? smtpMailer(smtpUrl, from) : outboxMailer(outboxDir, from, logger);
}

/** The job queue of a serving process: it works every job type and counts outcomes in `registry`. */
export function startJobs(
  config: Config,
  url: string,
  db: Knex,
  registry: Registry,
  logger: Logger,
): Promise<JobQueue> {
  const types = [
    sendMailJob(createMailer(config, logger)),
    purgeExpiredSessionsJob(
      db,
      config.jobs.purgeSessionsCron,
      {
        sessionRetentionDays: config.auth.sessionRetentionDays,
        unverifiedAccountRetentionDays: config.auth.unverifiedAccountRetentionDays,
      },
      fileStoreFor(config.uploads),
    ),
  ];
  return oneProcessAtATime(url, () =>
    startJobQueue({
      url,
      types,
      settings: config.jobs,
      logger: logger.child({ component: 'jobs' }),
      outcomes: jobMetrics(
        registry,
        db,
        types.flatMap((type) => [type.name, deadLetterQueue(type.name)]),
      ),
      work: true,
    }),
  );
}

/**
 * pg-boss's queue set-up deadlocks when several processes run it at once (every worker of a fresh
 * deployment): they take turns under a session advisory lock on a connection of their own.
 */
async function oneProcessAtATime<T>(url: string, work: () => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, application_name: 'shipshape-jobs-setup' });
  // A connection lost meanwhile fails the work's own queries (and the start is retried); unheard, it would
  // end the process.
  client.on('error', () => {});
  await client.connect();
  try {
    await client.query("select pg_advisory_lock(hashtext('shipshape-jobs-setup'))");
    return await work();
  } finally {
    // Closing the session releases the lock.
    await client.end();
  }
}
