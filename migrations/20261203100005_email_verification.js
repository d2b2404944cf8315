// @ts-check
/**
 * Email verification and change: when an account proved it receives mail at its address; for a change-email
 * token, the address it switches to and the session that asked (the one session the switch keeps).
 *
 * Accounts that exist when this runs registered before any address was checked: they count as verified (from
 * this moment), so requiring verification or purging unverified accounts never locks out or deletes them. A
 * default evaluated once (now() is stable) fills the existing rows without rewriting the table; dropping it at
 * once leaves new accounts unverified. Every new column is nullable: the previous release, which knows none of
 * them, keeps working.
 */

/** @param {import('knex').Knex} knex */
exports.up = async (knex) => {
  await knex.raw("set local lock_timeout = '5s'");
  await knex.schema.alterTable('users', (table) => {
    table.timestamp('email_verified_at', { useTz: true }).defaultTo(knex.fn.now());
  });
  await knex.raw('alter table users alter column email_verified_at drop default');
  await knex.schema.alterTable('account_tokens', (table) => {
    table.string('new_email', 254);
    // No foreign key: the session may be purged first, and an id that matches nothing keeps nothing.
    table.uuid('session_id');
  });
};

/** @param {import('knex').Knex} knex */
exports.down = async (knex) => {
  await knex.raw("set local lock_timeout = '5s'");
  await knex.schema.alterTable('account_tokens', (table) => {
    table.dropColumns('new_email', 'session_id');
  });
  await knex.schema.alterTable('users', (table) => {
    table.dropColumn('email_verified_at');
  });
};
