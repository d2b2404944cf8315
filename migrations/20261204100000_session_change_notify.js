// @ts-check
/**
 * Tells every process at once when a session or its user changes (revoked, expired early, deleted, user
 * disabled, role or email changed), so a process may keep sessions in memory (src/features/accounts/
 * session-cache.ts) and still refuse a revoked token on its next request. A trigger rather than a NOTIFY in
 * each revoking query: no path that changes these rows (the API, the admin CLI, the purge job, psql) can
 * forget it, and PostgreSQL delivers a notification only when its transaction commits.
 */

const CHANNEL = 'shipshape_session_changed';

/** @param {import('knex').Knex} knex */
exports.up = async (knex) => {
  await knex.raw("set local lock_timeout = '5s'");
  await knex.raw(`
    create function shipshape_session_changed() returns trigger language plpgsql as $$
    begin
      if tg_table_name = 'auth_sessions' then
        perform pg_notify('${CHANNEL}', 's:' || old.token_hash);
      else
        perform pg_notify('${CHANNEL}', 'u:' || old.id);
      end if;
      return null;
    end $$`);
  await knex.raw(`create trigger auth_sessions_changed after update or delete on auth_sessions
    for each row execute function shipshape_session_changed()`);
  await knex.raw(`create trigger users_changed after update or delete on users
    for each row execute function shipshape_session_changed()`);
};

/** @param {import('knex').Knex} knex */
exports.down = async (knex) => {
  await knex.raw("set local lock_timeout = '5s'");
  await knex.raw('drop trigger users_changed on users');
  await knex.raw('drop trigger auth_sessions_changed on auth_sessions');
  await knex.raw('drop function shipshape_session_changed()');
};
