import { existsSync } from 'node:fs';
import { shippedMigrations } from '../../db/migrations.js';
import { ADMIN_HEADROOM, listenersPerProcess } from '../../db/pool-sizing.js';
import { type Check, fail, pass, skip, warn } from '../types.js';

export const runtimeRole: Check = {
  id: 'db.runtime-role',
  checklist: 'DB-15',
  title: 'the app’s database role is not a superuser and owns neither the database nor its tables',
  fix: 'connect the app as the runtime role and migrate as the owner role: deploy/create-db-roles.sh (deploy/db-roles.sql), then DATABASE_URL=postgres://shipshape_app@...',
  async run(context) {
    const db = await context.db();
    const { rows } = await db.raw(
      `select current_user as role, r.rolsuper as superuser, r.rolcreaterole or r.rolcreatedb or r.rolbypassrls as elevated,
              pg_get_userbyid(d.datdba) = current_user as owns_database,
              (select count(*)::int from pg_tables t where t.schemaname = 'public' and t.tableowner = current_user) as owned_tables
         from pg_roles r, pg_database d where r.rolname = current_user and d.datname = current_database()`,
    );
    const row = rows[0] as {
      role: string;
      superuser: boolean;
      elevated: boolean;
      owns_database: boolean;
      owned_tables: number;
    };
    const problems = [
      row.superuser && 'is a superuser',
      row.elevated && 'may create roles or databases or bypass row security',
      row.owns_database && 'owns the database',
      row.owned_tables > 0 && `owns ${row.owned_tables} table(s) (it could drop or alter them)`,
    ].filter(Boolean);
    if (problems.length > 0) return fail(`role ${row.role} ${problems.join(', ')}`);
    return pass(`role ${row.role}: DML only, owns nothing`);
  },
};

export const poolSize: Check = {
  id: 'db.pool-size',
  checklist: 'DB-3',
  title: 'pool size x processes fits in max_connections',
  fix: 'lower DATABASE_POOL_MAX or WEB_CONCURRENCY, or raise max_connections (docs/process-model.md, pool sizing)',
  async run(context) {
    const config = context.config();
    const db = await context.db();
    const { rows } = await db.raw(
      "select current_setting('max_connections')::int as max, current_setting('superuser_reserved_connections')::int as reserved",
    );
    const { max, reserved } = rows[0] as { max: number; reserved: number };
    const { instances } = context.options;
    const listeners = listenersPerProcess(config);
    const perProcess = config.database.poolMax + listeners;
    const wanted = perProcess * config.webConcurrency * instances;
    const available = max - reserved - ADMIN_HEADROOM;
    const held = listeners
      ? `(${config.database.poolMax} pool + ${listeners} session-cache listener)`
      : `${perProcess} pool`;
    const sum = `${held} x ${config.webConcurrency} workers x ${instances} instance(s) = ${wanted}; max_connections ${max} - ${reserved} reserved - ${ADMIN_HEADROOM} headroom = ${available}`;
    if (wanted > available) return fail(sum);
    if (wanted > available * 0.8) return warn(`${sum} (over 80%: no room to add an instance)`);
    return pass(sum);
  },
};

export const migrations: Check = {
  id: 'db.migrations',
  checklist: 'DB-1',
  title: 'no migration is pending or applied out of order',
  fix: 'run the deploy step `npm run migrate -- latest` as the owner role (deploy/deploy.sh does); an out-of-order one needs a new migration that sorts last',
  async run(context) {
    const { migrationsDir } = context.options;
    if (!existsSync(migrationsDir))
      return skip(`no migrations directory at ${migrationsDir} (--migrations-dir)`);
    const shipped = shippedMigrations(migrationsDir);
    const db = await context.db();
    const applied = (await db.schema.hasTable('knex_migrations'))
      ? ((await db('knex_migrations').orderBy('id').pluck('name')) as string[])
      : [];
    const done = new Set(applied);
    const newest = [...applied].sort().at(-1) ?? '';
    const pending = shipped.filter((name) => !done.has(name));
    const outOfOrder = pending.filter((name) => name < newest);
    const unknown = applied.filter((name) => !shipped.includes(name));
    if (outOfOrder.length > 0)
      return fail(`out of order (older than the applied ${newest}): ${outOfOrder.join(', ')}`);
    if (pending.length > 0) return fail(`${pending.length} pending: ${pending.join(', ')}`);
    if (unknown.length > 0)
      return warn(
        `${unknown.length} applied but not in this release (a newer release migrated?): ${unknown.join(', ')}`,
      );
    return pass(`${applied.length} applied, none pending`);
  },
};

export const replication: Check = {
  id: 'db.replication',
  checklist: 'DB-5',
  title: 'the configured replicas stream from the primary',
  fix: 'see docs/operations.md "Read replicas": check primary_conninfo and the replica’s log; grant pg_monitor to see the state',
  async run(context) {
    const expected = context.options.replicas;
    const db = await context.db();
    const { rows } = await db.raw(
      `select state, coalesce(extract(epoch from replay_lag), 0)::float as lag from pg_stat_replication`,
    );
    const replicas = rows as { state: string | null; lag: number }[];
    if (expected === undefined && replicas.length === 0)
      return skip('not configured: no replica streams and none is expected (--replicas N to require one)');
    if (replicas.some((r) => r.state === null))
      return skip('pg_stat_replication hides the state from this role (grant pg_monitor)');
    const streaming = replicas.filter((r) => r.state === 'streaming');
    const lag = Math.max(0, ...streaming.map((r) => r.lag));
    const sum = `${streaming.length} streaming of ${expected ?? replicas.length} expected, replay lag ${lag.toFixed(1)} s`;
    if (streaming.length < (expected ?? replicas.length)) return fail(sum);
    if (lag > 60) return warn(sum);
    return pass(sum);
  },
};
