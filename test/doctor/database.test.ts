import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type PrivatePostgres, startPrivatePostgres } from '../support/postgres';
import { REPO } from '../support/processes';
import { doctor, provisionLikeProduction, writeEnvFile } from './doctor';

/**
 * The database checks on a private PostgreSQL 15 cluster set up as production is: deploy/db-roles.sql's owner and
 * runtime roles, migrated by the owner. Each test breaks one thing and the doctor must find it.
 */
jest.setTimeout(120_000);

const dir = mkdtempSync(join(tmpdir(), 'shipshape-doctor-db-'));
let pg: PrivatePostgres;
const url = (role: string) => `postgres://${role}@127.0.0.1:${pg.port}/shipshape`;
const psql = (sql: string, database = 'shipshape') => pg.psql(sql, database);
const envFor = (role: string, extra: Record<string, string> = {}) =>
  writeEnvFile(
    { DATABASE_URL: url(role), WEB_CONCURRENCY: '2', DATABASE_POOL_MAX: '5', ...extra },
    mkdtempSync(join(dir, 'env-')),
  );
const dbDoctor = (envFile: string, args: string[] = []) =>
  doctor(['--only', 'db', '--env-file', envFile, ...args]);

beforeAll(async () => {
  pg = await startPrivatePostgres();
  provisionLikeProduction(pg);
});

afterAll(() => {
  pg?.destroy();
  rmSync(dir, { recursive: true, force: true });
});

describe('OPS-19: shipshape doctor, database', () => {
  test('OPS-19: when the app connects as the runtime role with every migration applied, then no database check fails', async () => {
    const run = await dbDoctor(envFor('shipshape_app'));
    expect(run.checks.filter((c) => c.status === 'fail')).toEqual([]);
    expect(run.finding('db.runtime-role').status).toBe('pass');
    expect(run.finding('db.pool-size')).toMatchObject({ status: 'pass' });
    expect(run.finding('db.migrations').status).toBe('pass');
    expect(run.finding('db.replication').status).toBe('skip');
    expect(run.finding('db.replication').detail).toMatch(/not configured/);
    expect(run.status).toBe(0);
  });

  test('OPS-19: when the runtime role is made superuser, then db.runtime-role fails', async () => {
    psql('alter role shipshape_app superuser');
    try {
      const run = await dbDoctor(envFor('shipshape_app'));
      expect(run.finding('db.runtime-role')).toMatchObject({ status: 'fail', checklist: 'DB-15' });
      expect(run.finding('db.runtime-role').detail).toMatch(/shipshape_app is a superuser/);
      expect(run.status).toBe(1);
    } finally {
      psql('alter role shipshape_app nosuperuser');
    }
  });

  test('OPS-19: when the app connects as the owner role, then db.runtime-role fails: it owns the database and tables', async () => {
    const run = await dbDoctor(envFor('shipshape'));
    expect(run.finding('db.runtime-role').status).toBe('fail');
    expect(run.finding('db.runtime-role').detail).toMatch(/owns the database, owns \d+ table/);
  });

  test('OPS-19: when the release ships a migration not applied, or one older than the newest applied, then db.migrations fails', async () => {
    const migrations = mkdtempSync(join(dir, 'migrations-'));
    cpSync(join(REPO, 'migrations'), migrations, { recursive: true });
    writeFileSync(
      join(migrations, '29991231000000_add_bookmarks.js'),
      'exports.up = async () => {};\nexports.down = async () => {};\n',
    );
    const pending = await dbDoctor(envFor('shipshape_app'), ['--migrations-dir', migrations]);
    expect(pending.finding('db.migrations').status).toBe('fail');
    expect(pending.finding('db.migrations').detail).toMatch(/1 pending: 29991231000000_add_bookmarks\.js/);

    writeFileSync(
      join(migrations, '20000101000000_late_arrival.js'),
      'exports.up = async () => {};\nexports.down = async () => {};\n',
    );
    const outOfOrder = await dbDoctor(envFor('shipshape_app'), ['--migrations-dir', migrations]);
    expect(outOfOrder.finding('db.migrations').detail).toMatch(
      /out of order .*20000101000000_late_arrival\.js/,
    );
  });

  test('OPS-19: when max_connections is too small for pool x workers, then db.pool-size fails with the arithmetic', async () => {
    psql('alter system set max_connections = 12', 'postgres');
    pg.stop();
    pg.start();
    try {
      const run = await dbDoctor(envFor('shipshape_app'));
      expect(run.finding('db.pool-size')).toMatchObject({ status: 'fail', checklist: 'DB-3' });
      expect(run.finding('db.pool-size').detail).toMatch(
        /\(5 pool \+ 1 session-cache listener\) x 2 workers x 1 instance\(s\) = 12; max_connections 12 - 3 reserved - 5 headroom = 4/,
      );
    } finally {
      psql('alter system reset max_connections', 'postgres');
      pg.stop();
      pg.start();
    }
  });

  test('OPS-19: when a replica is expected but none streams, then db.replication fails', async () => {
    psql('grant pg_monitor to shipshape_app', 'postgres');
    const run = await dbDoctor(envFor('shipshape_app'), ['--replicas', '1']);
    expect(run.finding('db.replication').status).toBe('fail');
    expect(run.finding('db.replication').detail).toMatch(/0 streaming of 1 expected/);
  });

  test('OPS-19: when the database is down, then the database checks fail rather than pass or skip', async () => {
    pg.stop();
    try {
      const run = await dbDoctor(envFor('shipshape_app'));
      expect(run.finding('db.runtime-role').status).toBe('fail');
      expect(run.finding('db.runtime-role').detail).toMatch(/ECONNREFUSED/);
    } finally {
      pg.start();
    }
  });
});
