import type { Knex } from 'knex';

/** Records that the account receives mail at its address; the first time counts, a second changes nothing. */
export async function markVerified(trx: Knex, userId: string): Promise<void> {
  await trx('users')
    .where({ id: userId })
    .whereNull('email_verified_at')
    .update({ email_verified_at: trx.fn.now(), updated_at: trx.fn.now() });
}
