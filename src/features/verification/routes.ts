import { Problem } from '../../http/problem.js';
import { type Route, route } from '../../http/routes.js';
import type { BusinessEvents } from '../../observability/business-events.js';
import { spendToken, TOKEN_PURPOSES } from '../accounts/account-tokens.js';
import { currentAuth } from '../accounts/authenticate.js';
import { refuseUnsent } from '../accounts/token-mail.js';
import { hashToken } from '../accounts/tokens.js';
import { markVerified } from './repository.js';
import { mailedTokenBody, mailRequested } from './schemas.js';
import { mailVerification, type VerificationDeps } from './service.js';

/** Proof that an account's address reaches its owner: a mailed single-use link, and a way to get a new one. */
export function verificationRoutes(options: VerificationDeps & { events: BusinessEvents }): Route[] {
  const { db, events } = options;
  return [
    route({
      method: 'post',
      path: '/auth/verify-email',
      operationId: 'verifyEmail',
      summary: 'Confirm the email address of an account with the token mailed to it',
      tag: 'accounts',
      auth: 'none',
      body: mailedTokenBody,
      status: 204,
      responses: {
        204: { description: 'The address is verified' },
        410: { description: 'The token is unknown, used or expired', problems: ['token-invalid'] },
      },
      handle: async ({ body }, _req, res) => {
        const userId = await db.transaction(async (trx) => {
          const spent = await spendToken(trx, TOKEN_PURPOSES.verifyEmail, hashToken(body.token));
          if (spent) await markVerified(trx, spent.userId);
          return spent?.userId;
        });
        if (!userId)
          throw new Problem(
            'token-invalid',
            'This verification token is unknown, used or expired; log in or ask for a new one.',
          );
        events.record({ kind: 'email-verification', outcome: 'success', userId });
        res.status(204).end();
      },
    }),
    route({
      method: 'post',
      path: '/auth/verify-email/resend',
      operationId: 'resendVerificationEmail',
      summary: 'Mail a new verification link to the address of the caller (at most three an hour)',
      tag: 'accounts',
      auth: 'required',
      status: 202,
      responses: {
        202: { description: 'A new link is on its way', schema: mailRequested },
        409: { description: 'The address is verified already', problems: ['conflict'] },
        429: {
          description: 'Three links were mailed in the last hour; Retry-After',
          problems: ['rate-limited'],
        },
      },
      handle: async (_input, _req, res) => {
        const { user } = currentAuth(res);
        if (user.emailVerifiedAt) throw new Problem('conflict', 'This email address is verified already.');
        refuseUnsent(await mailVerification(options, user));
        res.status(202).json({
          status: 'requested',
          detail: 'A new verification link is on its way to the address of the account.',
        });
      },
    }),
  ];
}
