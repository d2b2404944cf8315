import type { Knex } from 'knex';
import { Problem } from '../../http/problem.js';
import type { MailMessage } from '../../mail/mailer.js';
import type { Logger } from '../../observability/logger.js';
import { issueLimited, TOKENS_PER_HOUR, type TokenPurpose, withdrawToken } from './account-tokens.js';
import { hashToken, newSessionToken } from './tokens.js';

/** Hands a message to the job queue; the key makes a repeated enqueue of the same message a no-op. */
export type SendMail = (message: MailMessage, key: string) => Promise<void>;

export interface TokenMailDeps {
  db: Knex;
  logger: Logger;
  /** Absent where no job queue runs (most tests, some tools): nothing is issued or sent. */
  sendMail: SendMail | undefined;
}

/** What became of a token mail: queued, refused by the hourly cap, no queue to send it, or the queue failed. */
export type TokenMailOutcome = 'queued' | 'limited' | 'no-queue' | 'failed';

/**
 * Issues a single-use token (only its hash is stored) and queues the mail that carries it, within the
 * account's hourly cap for that purpose. A mail the queue refused takes its token back, so it costs nothing.
 */
export async function mailToken(
  deps: TokenMailDeps,
  token: { userId: string; purpose: TokenPurpose; ttlMs: number; newEmail?: string; sessionId?: string },
  compose: (token: string, expiresAt: Date) => MailMessage,
): Promise<{ outcome: TokenMailOutcome; tokenHash?: string }> {
  const { db, logger, sendMail } = deps;
  const about = { userId: token.userId, purpose: token.purpose };
  if (!sendMail) {
    logger.warn(about, 'mail with a token not sent: no job queue runs');
    return { outcome: 'no-queue' };
  }
  const secret = newSessionToken();
  const tokenHash = hashToken(secret);
  const expiresAt = new Date(Date.now() + token.ttlMs);
  const { ttlMs: _ttl, ...stored } = token;
  if (!(await issueLimited(db, { ...stored, tokenHash, expiresAt, perHour: TOKENS_PER_HOUR }))) {
    logger.warn(about, 'mail with a token not sent: the hourly limit for this account is reached');
    return { outcome: 'limited' };
  }
  try {
    await sendMail(compose(secret, expiresAt), `${token.purpose}-${tokenHash}`);
    return { outcome: 'queued', tokenHash };
  } catch (error) {
    logger.error({ ...about, err: error }, 'mail with a token not queued');
    await withdrawToken(db, tokenHash);
    return { outcome: 'failed' };
  }
}

/** For a caller who asked for the mail: a clear refusal when it was not queued (no queue at all is not theirs). */
export function refuseUnsent(outcome: TokenMailOutcome): void {
  if (outcome === 'limited')
    throw new Problem('rate-limited', `At most ${TOKENS_PER_HOUR} of these mails an hour; try again later.`, {
      headers: { 'Retry-After': '3600' },
    });
  if (outcome === 'failed')
    throw new Problem('service-unavailable', 'The mail could not be queued; try again in a moment.');
}

/**
 * Queues a notice (no token in it) after the change it tells of is committed: a queue that fails is logged, never
 * undoes the change nor fails the answer.
 */
export async function sendNotice(
  deps: Pick<TokenMailDeps, 'logger' | 'sendMail'>,
  message: MailMessage,
  key: string,
  userId: string,
): Promise<void> {
  await deps
    .sendMail?.(message, key)
    .catch((error: unknown) =>
      deps.logger.warn({ err: error, userId, subject: message.subject }, 'notice mail not queued'),
    );
}
