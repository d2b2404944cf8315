// @ts-check
/**
 * Failed logins per account, for a temporary lockout that no number of attacking addresses can get around.
 * A default and a nullable column: no rewrite, and the previous release keeps working.
 */

/** @param {import('knex').Knex} knex */
exports.up = async (knex) => {
  await knex.raw("set local lock_timeout = '5s'");
  await knex.schema.alterTable('users', (table) => {
    table.integer('failed_logins').notNullable().defaultTo(0);
    table.timestamp('locked_until', { useTz: true });
  });
};

/** @param {import('knex').Knex} knex */
exports.down = async (knex) => {
  await knex.raw("set local lock_timeout = '5s'");
  await knex.schema.alterTable('users', (table) => {
    table.dropColumns('failed_logins', 'locked_until');
  });
};
