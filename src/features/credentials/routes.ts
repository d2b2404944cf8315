import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { isUniqueViolation } from '../../db/errors.js';
import { Problem } from '../../http/problem.js';
import { type Route, route } from '../../http/routes.js';
import type { BusinessEvents } from '../../observability/business-events.js';
import { retireTokens, spendToken, TOKEN_PURPOSES } from '../accounts/account-tokens.js';
import { currentAuth } from '../accounts/authenticate.js';
import { emailChangedNotice, emailChangeMail, passwordChangedNotice } from '../accounts/mails.js';
import { hashPassword, verifyPassword } from '../accounts/passwords.js';
import { mailToken, refuseUnsent, sendNotice, type TokenMailDeps } from '../accounts/token-mail.js';
import { hashToken } from '../accounts/tokens.js';
import { findPasswordHash } from '../privacy/repository.js';
import { mailedTokenBody, mailRequested } from '../verification/schemas.js';
import { changePassword, emailTaken, switchEmail } from './repository.js';
import { changeEmailBody, changePasswordBody } from './schemas.js';

export interface CredentialsOptions extends TokenMailDeps {
  events: BusinessEvents;
  /** Hours an email-change link stays valid. */
  ttlHours: number;
  appUrl: string | undefined;
}

const taken = () => new Problem('conflict', 'An account with this email already exists.');

/** The password asked again: a stolen session alone changes neither the password nor the address. */
async function confirmPassword(
  db: Knex,
  events: BusinessEvents,
  kind: 'password-change' | 'email-change',
  userId: string,
  password: string,
): Promise<void> {
  if (await verifyPassword(await findPasswordHash(db, userId), password)) return;
  events.record({ kind, outcome: 'failure', userId });
  throw new Problem('password-incorrect', 'The password is incorrect; nothing was changed.');
}

/** What a person logs in with, changed by that person: the password at once, the address once it is proven. */
export function credentialsRoutes(options: CredentialsOptions): Route[] {
  const { db, events } = options;
  return [
    route({
      method: 'post',
      path: '/users/me/password',
      operationId: 'changeMyPassword',
      summary: 'Change the password (needs the current one); every other session ends',
      tag: 'accounts',
      auth: 'required',
      body: changePasswordBody,
      status: 204,
      responses: {
        204: { description: 'The password is changed; this session goes on, every other one ended' },
        403: { description: 'The current password is incorrect', problems: ['password-incorrect'] },
      },
      handle: async ({ body }, _req, res) => {
        const auth = currentAuth(res);
        const userId = auth.user.id;
        await confirmPassword(db, events, 'password-change', userId, body.currentPassword);
        const passwordHash = await hashPassword(body.newPassword);
        await db.transaction((trx) =>
          changePassword(trx, { userId, passwordHash, keepSession: auth.sessionId }),
        );
        events.record({ kind: 'password-change', outcome: 'success', userId });
        await sendNotice(
          options,
          passwordChangedNotice(auth.user.email, 'changed'),
          `password-changed-${randomUUID()}`,
          userId,
        );
        res.status(204).end();
      },
    }),
    route({
      method: 'post',
      path: '/users/me/email',
      operationId: 'changeMyEmail',
      summary: 'Change the email address (needs the password): a link to confirm it is mailed to the new one',
      tag: 'accounts',
      auth: 'required',
      body: changeEmailBody,
      status: 202,
      responses: {
        202: { description: 'The confirmation link is on its way to the new address', schema: mailRequested },
        403: { description: 'The password is incorrect', problems: ['password-incorrect'] },
        409: { description: "The address is already this account's or another's", problems: ['conflict'] },
        429: {
          description: 'Three changes were asked in the last hour; Retry-After',
          problems: ['rate-limited'],
        },
      },
      handle: async ({ body }, _req, res) => {
        const auth = currentAuth(res);
        const userId = auth.user.id;
        await confirmPassword(db, events, 'email-change', userId, body.password);
        if (body.newEmail === auth.user.email)
          throw new Problem('conflict', 'This is the email address of the account already.');
        if (await emailTaken(db, body.newEmail)) throw taken();
        const { outcome, tokenHash } = await mailToken(
          options,
          {
            userId,
            purpose: TOKEN_PURPOSES.changeEmail,
            ttlMs: options.ttlHours * 3_600_000,
            newEmail: body.newEmail,
            sessionId: auth.sessionId,
          },
          (token, expiresAt) => emailChangeMail(body.newEmail, token, { appUrl: options.appUrl, expiresAt }),
        );
        refuseUnsent(outcome);
        // Only the latest request can be confirmed: an earlier link may name a mistyped address.
        if (tokenHash) await retireTokens(db, userId, [TOKEN_PURPOSES.changeEmail], tokenHash);
        res.status(202).json({
          status: 'requested',
          detail:
            'A link to confirm the change is on its way to the new address; the address changes when it is used.',
        });
      },
    }),
    route({
      method: 'post',
      path: '/auth/confirm-email-change',
      operationId: 'confirmEmailChange',
      summary: 'Switch to the new email address with the token mailed to it; every other session ends',
      tag: 'accounts',
      auth: 'none',
      body: mailedTokenBody,
      status: 204,
      responses: {
        204: { description: 'The account uses the new, verified address' },
        409: { description: 'Another account took the address meanwhile', problems: ['conflict'] },
        410: { description: 'The token is unknown, used or expired', problems: ['token-invalid'] },
      },
      handle: async ({ body }, _req, res) => {
        const switched = await db
          .transaction(async (trx) => {
            const spent = await spendToken(trx, TOKEN_PURPOSES.changeEmail, hashToken(body.token));
            if (!spent?.newEmail) return undefined;
            const change = { userId: spent.userId, newEmail: spent.newEmail, keepSession: spent.sessionId };
            const oldEmail = await switchEmail(trx, change);
            // Thrown inside the transaction: the token stays unspent, as the address stays unchanged.
            if (oldEmail === undefined) throw taken();
            return { ...change, oldEmail };
          })
          .catch((error: unknown) => {
            throw isUniqueViolation(error) ? taken() : error;
          });
        if (!switched)
          throw new Problem(
            'token-invalid',
            'This confirmation token is unknown, used or expired; ask for the change again.',
          );
        events.record({ kind: 'email-change', outcome: 'success', userId: switched.userId });
        await sendNotice(
          options,
          emailChangedNotice(switched.oldEmail, switched.newEmail),
          `email-changed-${hashToken(body.token)}`,
          switched.userId,
        );
        res.status(204).end();
      },
    }),
  ];
}
