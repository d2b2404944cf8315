// @ts-check
/**
 * What a user needs to recognise a session in "my sessions": when it was last used, from which browser and
 * address. Nullable columns: PostgreSQL adds them without rewriting the table, and the previous release,
 * which does not know them, keeps working.
 */

/** @param {import('knex').Knex} knex */
exports.up = async (knex) => {
  await knex.raw("set local lock_timeout = '5s'");
  await knex.schema.alterTable('auth_sessions', (table) => {
    table.timestamp('last_used_at', { useTz: true });
    table.string('user_agent', 256);
    table.string('address', 64);
  });
};

/** @param {import('knex').Knex} knex */
exports.down = async (knex) => {
  await knex.raw("set local lock_timeout = '5s'");
  await knex.schema.alterTable('auth_sessions', (table) => {
    table.dropColumns('last_used_at', 'user_agent', 'address');
  });
};
