import type { Knex } from 'knex';
import { retireTokens, TOKEN_PURPOSES } from '../accounts/account-tokens.js';

/**
 * A new password: the hash replaced, every session ended, any lockout lifted. The reset token came by mail to
 * the account's address, so spending it proves that address too. Returns that address, for the notice.
 */
export async function replacePassword(trx: Knex, userId: string, passwordHash: string): Promise<string> {
  const [user] = await trx('users')
    .where({ id: userId })
    .update({
      password_hash: passwordHash,
      failed_logins: 0,
      locked_until: null,
      email_verified_at: trx.raw('coalesce(email_verified_at, now())'),
      updated_at: trx.fn.now(),
    })
    .returning('email');
  await trx('auth_sessions')
    .where({ user_id: userId })
    .whereNull('revoked_at')
    .update({ revoked_at: trx.fn.now() });
  // Other reset tokens of this user die with the old password.
  await retireTokens(trx, userId, [TOKEN_PURPOSES.passwordReset]);
  return user.email;
}
