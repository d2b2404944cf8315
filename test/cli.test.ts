import { Writable } from 'node:stream';
import { createDatabase } from '../src/db/knex';
import { warnOnUnsafePoolSize } from '../src/db/pool-sizing';
import { createLogger } from '../src/observability/logger';
import { testDatabaseUrl } from './support/harness';
import { runScript } from './support/processes';

const run = runScript;

describe('npm run migrate', () => {
  const env = () => ({ APP_ENV: 'testing', DATABASE_URL: testDatabaseUrl() });

  test('when every migration is applied, then status lists them and exits 0, and latest has nothing to do', async () => {
    const status = await run('src/cli/migrate.ts', ['status'], env());
    expect(status.status).toBe(0);
    expect(status.stdout).toMatch(/applied {2}20261123000001_create_users\.js/);
    expect(status.stdout).not.toMatch(/pending/);
    const latest = await run('src/cli/migrate.ts', ['latest'], env());
    expect(latest.stdout.trim()).toBe('already up to date');
  });

  test('when the command is unknown, then the usage is printed and the exit status is 64', async () => {
    const result = await run('src/cli/migrate.ts', ['sideways'], env());
    expect(result.status).toBe(64);
    expect(result.stderr).toContain(
      'usage: npm run migrate -- latest | rollback [--all] | status | make NAME',
    );
  });
});

describe('DB-8: npm run seed', () => {
  test('when APP_ENV is not development, then seeding is refused and nothing is written', async () => {
    const db = createDatabase({ url: testDatabaseUrl(), poolMin: 0, poolMax: 1 });
    const result = await run('src/cli/seed.ts', [], { APP_ENV: 'testing', DATABASE_URL: testDatabaseUrl() });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('seed runs only with APP_ENV=development');
    expect(await db('users').where({ email: 'demo@example.test' }).first()).toBeUndefined();
    await db.destroy();
  });
});

describe('DB-3: pool sizing', () => {
  const warnings: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      warnings.push(
        ...chunk
          .toString()
          .split('\n')
          .filter(Boolean)
          .map((line: string) => JSON.parse(line)),
      );
      done();
    },
  });
  const logger = createLogger({ level: 'warn', pretty: false, destination: sink });
  const db = createDatabase({ url: testDatabaseUrl(), poolMin: 0, poolMax: 1 });
  afterAll(() => db.destroy());

  test('when processes x pool max exceed what max_connections leaves, then a warning gives the numbers', async () => {
    await warnOnUnsafePoolSize(db, logger, { processes: 64, poolMax: 10 });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ level: 'warn', processes: 64, poolMax: 10, wanted: 640 });
    expect(warnings[0]!.maxConnections).toEqual(expect.any(Number));
  });

  test('when the pools fit, then nothing is logged', async () => {
    warnings.length = 0;
    await warnOnUnsafePoolSize(db, logger, { processes: 2, poolMax: 10 });
    expect(warnings).toEqual([]);
  });
});
