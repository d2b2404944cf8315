import type { Knex } from 'knex';
import { retireTokens, TOKEN_PURPOSES } from '../accounts/account-tokens.js';

/** Ends every live session of the user but `keep` (every one, when there is none to keep). */
async function endSessions(trx: Knex, userId: string, keep: string | null): Promise<void> {
  await trx('auth_sessions')
    .where({ user_id: userId })
    .whereNull('revoked_at')
    .modify((query) => {
      if (keep) query.whereNot({ id: keep });
    })
    .update({ revoked_at: trx.fn.now() });
}

/** A new password chosen by a signed-in user: other sessions end, this one goes on; pending resets die. */
export async function changePassword(
  trx: Knex,
  change: { userId: string; passwordHash: string; keepSession: string },
): Promise<void> {
  await trx('users')
    .where({ id: change.userId })
    .update({ password_hash: change.passwordHash, updated_at: trx.fn.now() });
  await endSessions(trx, change.userId, change.keepSession);
  await retireTokens(trx, change.userId, [TOKEN_PURPOSES.passwordReset]);
}

export async function emailTaken(db: Knex, email: string): Promise<boolean> {
  return (await db('users').where({ email }).first('id')) !== undefined;
}

/**
 * Moves the account to its new, confirmed address: verified, since the link reached it. Every session but the
 * one that asked ends, and every pending token dies (they went to the old address, or to other new ones).
 * Returns the old address, or undefined when another account took the new one meanwhile; a race the check
 * misses is refused by the unique constraint.
 */
export async function switchEmail(
  trx: Knex,
  change: { userId: string; newEmail: string; keepSession: string | null },
): Promise<string | undefined> {
  const current = await trx('users')
    .where({ id: change.userId })
    .forUpdate()
    .first<{ email: string }>('email');
  if (!current || (await emailTaken(trx, change.newEmail))) return undefined;
  await trx('users').where({ id: change.userId }).update({
    email: change.newEmail,
    email_verified_at: trx.fn.now(),
    updated_at: trx.fn.now(),
  });
  await endSessions(trx, change.userId, change.keepSession);
  await retireTokens(trx, change.userId, Object.values(TOKEN_PURPOSES));
  return current.email;
}
