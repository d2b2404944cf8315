-- The database's two roles, least privilege (docs/deploy-vps.md, "Database roles"). Idempotent: run it again
-- after a restore, or on a database created before the roles existed.
--
--   owner    owns the database and its schema: the migrate step connects as it and creates, alters and drops
--            tables. Nothing else uses it.
--   runtime  what the app connects as: SELECT, INSERT, UPDATE and DELETE on the owner's tables and use of its
--            sequences, now and for every table a later migration creates; SELECT on the migrations table
--            (readiness reports pending migrations). It cannot create, alter, drop or truncate anything of the
--            application's; it owns only the job queue's schema, pgboss.
--
-- Run with psql 15+, connected to the application database as a superuser (or an admin that is a member of
-- the owner role):  deploy/create-db-roles.sh does, so do the compose init script and the Kubernetes job.
-- psql variables: owner, runtime (role names, default shipshape and shipshape_app). Passwords come from the
-- environment, never the command line: SHIPSHAPE_OWNER_PASSWORD, SHIPSHAPE_RUNTIME_PASSWORD (unset: left as is).
\set ON_ERROR_STOP on
\if :{?owner}
\else
\set owner shipshape
\endif
\if :{?runtime}
\else
\set runtime shipshape_app
\endif
\getenv owner_password SHIPSHAPE_OWNER_PASSWORD
\getenv runtime_password SHIPSHAPE_RUNTIME_PASSWORD

begin;

select format('create role %I login nosuperuser nocreatedb nocreaterole noreplication', :'owner')
where not exists (select from pg_roles where rolname = :'owner') \gexec
select format('create role %I login', :'runtime')
where not exists (select from pg_roles where rolname = :'runtime') \gexec
-- Whatever the runtime role was before, it holds no attribute that lets it around its grants.
select format('alter role %I nosuperuser nocreatedb nocreaterole noreplication nobypassrls noinherit', :'runtime') \gexec

\if :{?owner_password}
select format('alter role %I password %L', :'owner', :'owner_password') \gexec
\endif
\if :{?runtime_password}
select format('alter role %I password %L', :'runtime', :'runtime_password') \gexec
\endif

-- Only the two roles connect; temporary tables are not needed by either.
select format('alter database %I owner to %I', current_database(), :'owner') \gexec
select format('revoke all on database %I from public', current_database()) \gexec
select format('grant connect on database %I to %I, %I', current_database(), :'owner', :'runtime') \gexec

-- The schema belongs to the owner; nobody else may create in it (PostgreSQL 15 already revokes CREATE from
-- PUBLIC; older servers and some managed ones do not).
select format('alter schema public owner to %I', :'owner') \gexec
revoke create on schema public from public;
select format('grant usage on schema public to %I', :'runtime') \gexec

-- The job queue's schema (pg-boss creates its tables there, and a partition table per queue as queues appear,
-- so whoever runs it needs CREATE in it): the runtime role owns that schema and nothing else. The application's
-- tables in public stay the owner's.
select format('create schema if not exists pgboss authorization %I', :'runtime') \gexec
select format('alter schema pgboss owner to %I', :'runtime') \gexec
-- pg-boss starts with CREATE SCHEMA IF NOT EXISTS, which PostgreSQL checks against the database's CREATE
-- privilege before it looks whether the schema exists. With it the role could make schemas of its own, never
-- touch the owner's tables in public (test/infra/db-roles.test.ts refuses exactly that).
select format('grant create on database %I to %I', current_database(), :'runtime') \gexec

-- Tables and sequences the owner creates from now on (every migration), then the ones that exist already.
select format('alter default privileges for role %I in schema public grant select, insert, update, delete on tables to %I', :'owner', :'runtime') \gexec
select format('alter default privileges for role %I in schema public grant usage, select on sequences to %I', :'owner', :'runtime') \gexec
select format('grant select, insert, update, delete on all tables in schema public to %I', :'runtime') \gexec
select format('grant usage, select on all sequences in schema public to %I', :'runtime') \gexec
select format('alter table %I owner to %I', tablename, :'owner')
from pg_tables where schemaname = 'public' and tableowner <> :'owner' \gexec

-- knex's own tables: the runtime role reads which migrations ran and nothing more (the migration
-- 20261202180000_migrations_table_read_only does the same when the migrate step creates them).
select format('revoke all on table %I from %I', tablename, :'runtime')
from pg_tables where schemaname = 'public' and tablename in ('knex_migrations', 'knex_migrations_lock') \gexec
select format('grant select on table knex_migrations to %I', :'runtime')
from pg_tables where schemaname = 'public' and tablename = 'knex_migrations' \gexec
select format('revoke all on sequence %I from %I', sequencename, :'runtime')
from pg_sequences where schemaname = 'public' and sequencename like 'knex\_migrations%' \gexec

commit;
