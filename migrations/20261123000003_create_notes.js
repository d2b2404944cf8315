// @ts-check
/**
 * Notes, the owned resource. Ids are UUIDv7 (time-ordered), so the keyset pagination of a user's notes,
 * newest first, walks the (user_id, id) index and never sorts.
 */

/** @param {import('knex').Knex} knex */
exports.up = async (knex) => {
  await knex.schema.createTable('notes', (table) => {
    table.uuid('id').primary();
    table.uuid('user_id').notNullable().references('id').inTable('users').onDelete('CASCADE');
    table.string('title', 200).notNullable();
    table.text('body').notNullable().defaultTo('');
    table.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    table.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    table.index(['user_id', 'id'], 'notes_user_id_id_idx');
  });
};

/** @param {import('knex').Knex} knex */
exports.down = async (knex) => {
  await knex.schema.dropTable('notes');
};

/** Reviewed for the migration linter (npm run lint:migrations). */
exports.contract = {
  reviewed:
    'part of the first schema: users was created one migration earlier and no traffic waits on its lock',
  allows: ['missing-lock-timeout'],
};
