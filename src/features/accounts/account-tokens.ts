import type { Knex } from 'knex';
import { uuidv7 } from '../../db/ids.js';

/** What a mailed token may do; one token, one purpose. */
export const TOKEN_PURPOSES = {
  passwordReset: 'password-reset',
  verifyEmail: 'verify-email',
  changeEmail: 'change-email',
} as const;

export type TokenPurpose = (typeof TOKEN_PURPOSES)[keyof typeof TOKEN_PURPOSES];

/** Mails of one purpose one account can be sent in an hour: no mail-bombing, whatever the number of callers. */
export const TOKENS_PER_HOUR = 3;

/**
 * Stores a new token unless the user was issued perHour of that purpose in the last hour: one statement, so
 * no transaction is held open while mail is queued. Requests in the very same instant may each pass the
 * count (a few more than perHour, at worst); the /auth rate limit bounds them per address as well.
 */
export async function issueLimited(
  db: Knex,
  token: {
    userId: string;
    purpose: TokenPurpose;
    tokenHash: string;
    expiresAt: Date;
    perHour: number;
    /** The address a change-email token switches to, and the session that asked for it. */
    newEmail?: string;
    sessionId?: string;
  },
): Promise<boolean> {
  const result = await db.raw<{ rowCount: number }>(
    `insert into account_tokens (id, user_id, purpose, token_hash, expires_at, new_email, session_id)
     select :id, :userId, :purpose, :tokenHash, :expiresAt, :newEmail, :sessionId
     where (select count(*) from account_tokens
            where user_id = :userId and purpose = :purpose and created_at > now() - interval '1 hour') < :perHour`,
    { id: uuidv7(), ...token, newEmail: token.newEmail ?? null, sessionId: token.sessionId ?? null },
  );
  return result.rowCount === 1;
}

export interface SpentToken {
  userId: string;
  newEmail: string | null;
  sessionId: string | null;
}

/**
 * Spends a token: marks it used and returns its user (and what it carries), only if it was unused and
 * unexpired. One statement, so two requests racing with the same token cannot both succeed.
 */
export async function spendToken(
  trx: Knex,
  purpose: TokenPurpose,
  tokenHash: string,
): Promise<SpentToken | undefined> {
  const [row] = await trx('account_tokens')
    .where({ purpose, token_hash: tokenHash })
    .whereNull('used_at')
    .where('expires_at', '>', trx.fn.now())
    .update({ used_at: trx.fn.now() })
    .returning(['user_id', 'new_email', 'session_id']);
  return row && { userId: row.user_id, newEmail: row.new_email, sessionId: row.session_id };
}

/** Ends the user's unused tokens of these purposes, but the one kept: what they were mailed for has changed. */
export async function retireTokens(
  trx: Knex,
  userId: string,
  purposes: TokenPurpose[],
  keep?: string,
): Promise<void> {
  await trx('account_tokens')
    .where({ user_id: userId })
    .whereIn('purpose', purposes)
    .whereNull('used_at')
    .modify((query) => {
      if (keep) query.whereNot({ token_hash: keep });
    })
    .update({ used_at: trx.fn.now() });
}

/** Takes back a token whose mail could not be queued: it was never sent, so it does not count against the hour. */
export async function withdrawToken(db: Knex, tokenHash: string): Promise<void> {
  await db('account_tokens').where({ token_hash: tokenHash }).delete();
}
