import type { Knex } from 'knex';
import { Problem } from '../../http/problem.js';
import { type Route, route } from '../../http/routes.js';
import type { MailMessage } from '../../mail/mailer.js';
import type { Logger } from '../../observability/logger.js';
import { spendToken, TOKEN_PURPOSES } from '../accounts/account-tokens.js';
import { passwordChangedNotice } from '../accounts/mails.js';
import { hashPassword } from '../accounts/passwords.js';
import { findUserByEmail } from '../accounts/repository.js';
import { mailToken, type SendMail, sendNotice } from '../accounts/token-mail.js';
import { hashToken } from '../accounts/tokens.js';
import { replacePassword } from './repository.js';
import { resetConfirmBody, resetRequestBody, resetRequested } from './schemas.js';

export interface RecoveryOptions {
  db: Knex;
  logger: Logger;
  /** Minutes a reset token stays valid. */
  ttlMinutes: number;
  /** Where the product lives, for the link in the mail; without it the mail carries the token alone. */
  appUrl: string | undefined;
  sendMail: SendMail | undefined;
}

const REQUESTED = {
  status: 'requested' as const,
  detail: 'If an account has this email, a message with a reset token is on its way.',
};

function resetMail(to: string, token: string, options: RecoveryOptions, expiresAt: Date): MailMessage {
  const link = options.appUrl
    ? `${options.appUrl.replace(/\/$/, '')}/reset-password#token=${token}`
    : undefined;
  return {
    to,
    subject: 'Reset your password',
    text: [
      'Someone (we hope you) asked to reset the password of your account.',
      link ? `Choose a new one here: ${link}` : `Your reset token: ${token}`,
      `It works once, until ${expiresAt.toISOString()} (UTC). Every session is ended when it is used.`,
      'If you did not ask, ignore this message: your password stays as it is.',
    ].join('\n'),
  };
}

/** Account recovery by mail: a single-use token, hashed at rest, that expires; the answer never tells who exists. */
export function recoveryRoutes(options: RecoveryOptions): Route[] {
  const { db, logger } = options;
  /** Runs after the answer is sent, so an existing and an unknown email take the same time to answer. */
  async function issue(email: string): Promise<void> {
    const user = await findUserByEmail(db, email);
    if (!user || user.disabled_at) return;
    // Per address, whatever the number of asking IPs (the /auth limit is per IP and email): no mail-bombing.
    await mailToken(
      options,
      { userId: user.id, purpose: TOKEN_PURPOSES.passwordReset, ttlMs: options.ttlMinutes * 60_000 },
      (token, expiresAt) => resetMail(user.email, token, options, expiresAt),
    );
  }
  return [
    route({
      method: 'post',
      path: '/auth/password-reset',
      operationId: 'requestPasswordReset',
      summary: 'Mail a single-use password reset token to the account with this email, if there is one',
      tag: 'accounts',
      auth: 'none',
      body: resetRequestBody,
      status: 202,
      responses: {
        202: {
          description: 'The same answer whether or not the email has an account',
          schema: resetRequested,
        },
      },
      handle: ({ body }, _req, res) => {
        res.status(202).json(REQUESTED);
        issue(body.email).catch((error: unknown) =>
          logger.error({ err: error }, 'password reset not issued'),
        );
      },
    }),
    route({
      method: 'post',
      path: '/auth/password-reset/confirm',
      operationId: 'confirmPasswordReset',
      summary: 'Set a new password with the mailed token; every session of the account ends',
      tag: 'accounts',
      auth: 'none',
      body: resetConfirmBody,
      status: 204,
      responses: {
        204: { description: 'The password is changed; log in again' },
        410: { description: 'The token is unknown, used or expired', problems: ['token-invalid'] },
      },
      handle: async ({ body }, _req, res) => {
        const passwordHash = await hashPassword(body.password);
        const changed = await db.transaction(async (trx) => {
          const spent = await spendToken(trx, TOKEN_PURPOSES.passwordReset, hashToken(body.token));
          if (!spent) return undefined;
          return { userId: spent.userId, email: await replacePassword(trx, spent.userId, passwordHash) };
        });
        if (!changed)
          throw new Problem(
            'token-invalid',
            'This reset token is unknown, used or expired; ask for a new one.',
          );
        await sendNotice(
          options,
          passwordChangedNotice(changed.email, 'reset'),
          `password-reset-${hashToken(body.token)}`,
          changed.userId,
        );
        res.status(204).end();
      },
    }),
  ];
}
