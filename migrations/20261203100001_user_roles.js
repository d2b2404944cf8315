// @ts-check
/**
 * Roles (user, admin) and disabling an account. The role has a default, so adding it is a metadata-only change
 * in PostgreSQL 11+ and the previous release's inserts still work.
 */

/** @param {import('knex').Knex} knex */
exports.up = async (knex) => {
  await knex.raw("set local lock_timeout = '5s'");
  await knex.schema.alterTable('users', (table) => {
    table.string('role', 16).notNullable().defaultTo('user');
    table.timestamp('disabled_at', { useTz: true });
  });
  // Checked as it is added: a scan of users under the lock. On a table too large for that, add it NOT VALID here
  // and VALIDATE it in a migration of its own (docs on expand/contract).
  await knex.raw("alter table users add constraint users_role_check check (role in ('user', 'admin'))");
};

/** @param {import('knex').Knex} knex */
exports.down = async (knex) => {
  await knex.raw("set local lock_timeout = '5s'");
  await knex.schema.alterTable('users', (table) => {
    table.dropColumns('role', 'disabled_at');
  });
};
