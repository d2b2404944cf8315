import type { Express } from 'express';
import type { Knex } from 'knex';
import { createApp } from '../../src/app';
import { Lifecycle } from '../../src/health/lifecycle';
import type { MailMessage } from '../../src/mail/mailer';
import { createLogger } from '../../src/observability/logger';
import { testConfig } from './harness';

export interface QueuedMail {
  message: MailMessage;
  key: string;
}

/** What the app handed to the job queue, in order; a test reads the mail a person would get. */
export class Mailbox {
  readonly queued: QueuedMail[] = [];

  /** Every message to this address with this subject, oldest first. */
  to(address: string, subject: string): MailMessage[] {
    return this.queued
      .filter((q) => q.message.to === address && q.message.subject === subject)
      .map((q) => q.message);
  }

  /** The token of the latest such message, as the link in it carries it (after #token=). */
  tokenFor(address: string, subject: string): string {
    const latest = this.to(address, subject).at(-1);
    const token = latest && /#token=(ss_[A-Za-z0-9_-]+)/.exec(latest.text)?.[1];
    if (!token) throw new Error(`no mail "${subject}" with a token to ${address}`);
    return token;
  }
}

/**
 * The real app on the run's database, with a job queue stand-in that records each mail in mailbox (or, given
 * `queue`, does what it says: fail, for instance).
 */
export function appWithMailbox(
  db: Knex,
  env: Record<string, string> = {},
  queue?: (message: MailMessage, key: string) => Promise<void>,
): { app: Express; mailbox: Mailbox } {
  const mailbox = new Mailbox();
  const lifecycle = new Lifecycle();
  lifecycle.markStarted();
  const app = createApp({
    config: testConfig({ APP_URL: 'https://app.example.test', ...env }),
    db,
    lifecycle,
    logger: createLogger({ level: 'silent', pretty: false }),
    sendMail:
      queue ??
      (async (message, key) => {
        mailbox.queued.push({ message, key });
      }),
  });
  return { app, mailbox };
}
