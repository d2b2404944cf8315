import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import nodemailer from 'nodemailer';
import type { Logger } from '../observability/logger.js';

export interface MailMessage {
  to: string;
  subject: string;
  text: string;
  /** A stable id (the job key): a retry after an unclear failure sends a message a client can deduplicate. */
  messageId?: string;
}

export interface Mailer {
  send(message: MailMessage): Promise<void>;
}

/** The server refused the message for good (a 5xx reply, e.g. an unknown recipient): retrying cannot help. */
export class MailRejected extends Error {}

/** Real delivery through an SMTP relay (MAIL_SMTP_URL). */
export function smtpMailer(url: string, from: string): Mailer {
  const transport = nodemailer.createTransport(url);
  return {
    async send(message) {
      try {
        await transport.sendMail({ from, ...message, messageId: message.messageId });
      } catch (error) {
        const code = (error as { responseCode?: number }).responseCode;
        if (code !== undefined && code >= 500) throw new MailRejected((error as Error).message);
        throw error;
      }
    },
  };
}

/** Development: each message becomes an .eml file a developer opens with a mail client; its path is logged. */
export function outboxMailer(directory: string, from: string, logger: Logger): Mailer {
  const transport = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' });
  return {
    async send(message) {
      const built = await transport.sendMail({ from, ...message, messageId: message.messageId });
      await mkdir(directory, { recursive: true });
      const path = resolve(
        join(
          directory,
          `${new Date().toISOString().replace(/[:.]/g, '-')}-${built.messageId.replace(/[^\w.-]/g, '')}.eml`,
        ),
      );
      await writeFile(path, built.message as Buffer);
      logger.info({ path, subject: message.subject }, 'mail written to the outbox');
    },
  };
}
