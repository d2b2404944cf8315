// @ts-check
/**
 * Files attached to notes. The bytes live in the file store (UPLOAD_DIR or S3) under owner/note/attachment;
 * this table holds what the API tells about them and what proves them intact (size, SHA-256).
 */

/** @param {import('knex').Knex} knex */
exports.up = async (knex) => {
  await knex.raw("set local lock_timeout = '5s'");
  await knex.schema.createTable('note_attachments', (table) => {
    table.uuid('id').primary();
    table.uuid('note_id').notNullable().references('id').inTable('notes').onDelete('CASCADE');
    table.uuid('user_id').notNullable().references('id').inTable('users').onDelete('CASCADE');
    table.string('filename', 255).notNullable();
    table.string('content_type', 100).notNullable();
    table.bigInteger('size_bytes').notNullable();
    table.string('sha256', 64).notNullable();
    table.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    table.index(['note_id', 'id'], 'note_attachments_note_id_idx');
    table.index(['user_id'], 'note_attachments_user_id_idx');
  });
};

/** @param {import('knex').Knex} knex */
exports.down = async (knex) => {
  await knex.raw("set local lock_timeout = '5s'");
  await knex.schema.dropTable('note_attachments');
};
