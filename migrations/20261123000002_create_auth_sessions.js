// @ts-check
/**
 * Login sessions behind bearer tokens and session cookies. Only a SHA-256 of the token is stored, so a
 * leaked table grants nothing; expiry and revocation are columns checked on every request.
 */

/** @param {import('knex').Knex} knex */
exports.up = async (knex) => {
  await knex.schema.createTable('auth_sessions', (table) => {
    table.uuid('id').primary();
    table.uuid('user_id').notNullable().references('id').inTable('users').onDelete('CASCADE');
    table.string('token_hash', 64).notNullable().unique();
    table.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    table.timestamp('expires_at', { useTz: true }).notNullable();
    table.timestamp('revoked_at', { useTz: true });
    table.index(['user_id'], 'auth_sessions_user_id_idx');
    table.index(['expires_at'], 'auth_sessions_expires_at_idx');
  });
};

/** @param {import('knex').Knex} knex */
exports.down = async (knex) => {
  await knex.schema.dropTable('auth_sessions');
};

/** Reviewed for the migration linter (npm run lint:migrations). */
exports.contract = {
  reviewed:
    'part of the first schema: users was created one migration earlier and no traffic waits on its lock',
  allows: ['missing-lock-timeout'],
};
