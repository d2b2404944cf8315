import type { Knex } from 'knex';
import { purgeExpiredData, type RetentionPolicy } from '../features/privacy/retention.js';
import { type Mailer, type MailMessage, MailRejected } from '../mail/mailer.js';
import type { FileStore } from '../storage/files.js';
import { type JobType, PermanentJobError } from './queue.js';

export const SEND_MAIL = 'mail-send';
export const PURGE_EXPIRED_SESSIONS = 'sessions-purge-expired';

/** Mail leaves through the queue, never in a request: a slow or down relay delays it, it never fails a request. */
export function sendMailJob(mailer: Mailer): JobType<MailMessage> {
  return {
    name: SEND_MAIL,
    async handle(message, { id, key }) {
      try {
        await mailer.send({ ...message, messageId: `<${key ?? id}@shipshape.jobs>` });
      } catch (error) {
        if (error instanceof MailRejected) throw new PermanentJobError(error.message);
        throw error;
      }
    },
  };
}

/**
 * The retention policy enforced on a schedule (docs/data-retention.md): what is past its keeping time goes.
 * The same purge as `node dist/cli/purge.js`, so a host without the job runner can use a timer instead.
 */
export function purgeExpiredSessionsJob(
  db: Knex,
  cron: string,
  policy: RetentionPolicy,
  files?: FileStore,
): JobType {
  return {
    name: PURGE_EXPIRED_SESSIONS,
    cron,
    async handle() {
      await purgeExpiredData(db, policy, files);
    },
  };
}
