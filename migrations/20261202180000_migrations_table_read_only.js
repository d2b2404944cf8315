// @ts-check
/**
 * knex's own tables are the migrate step's, not the app's. A runtime role given DML on the owner's new tables
 * by default privileges (deploy/db-roles.sql) would get it on these too when the first migrate creates them:
 * it keeps SELECT on knex_migrations (readiness lists pending migrations) and loses everything else. Every
 * role but the owner is treated alike, so the migration needs no role names.
 */

/** @param {import('knex').Knex} knex */
exports.up = async (knex) => {
  await knex.raw(`
    do $$
    declare
      grantee text;
    begin
      for grantee in
        select distinct case when acl.grantee = 0 then 'public' else acl.grantee::regrole::text end
        from pg_class c, aclexplode(c.relacl) acl
        where c.relnamespace = current_schema()::regnamespace
          and c.relname in ('knex_migrations', 'knex_migrations_lock', 'knex_migrations_id_seq',
                            'knex_migrations_lock_index_seq')
          and acl.grantee <> c.relowner
          and acl.privilege_type <> 'SELECT'
      loop
        execute format('revoke insert, update, delete, truncate, references, trigger on knex_migrations, knex_migrations_lock from %s', grantee);
        execute format('revoke all on knex_migrations_lock from %s', grantee);
        execute format('revoke all on sequence knex_migrations_id_seq, knex_migrations_lock_index_seq from %s', grantee);
      end loop;
    end $$`);
};

/** Nothing to undo: the grants it removed were never the app's to have. */
exports.down = async () => {};

/** Reviewed for the migration linter (npm run lint:migrations). */
exports.contract = {
  reviewed:
    "its DO block only revokes grants on knex's own tables, which the app never writes: no table is altered",
  allows: ['dynamic-sql'],
};
