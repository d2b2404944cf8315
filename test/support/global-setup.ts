import { startEmbeddedDatabase } from '../../src/db/embedded';
import { createDatabase } from '../../src/db/knex';
import { createServerDatabase, ISOLATED_DATABASES, isolatedVariable } from './isolated-database';

type Teardown = () => Promise<void>;

async function onServer(serverUrl: string): Promise<{ url: string; teardown: Teardown }> {
  const database = await createServerDatabase(serverUrl, 'test');
  return { url: database.url, teardown: database.drop };
}

/** The shared embedded database, plus a private one per ISOLATED_DATABASES entry, cloned from a template. */
async function embedded(): Promise<{ url: string; teardown: Teardown }> {
  const shared = await startEmbeddedDatabase({ dataDir: '', maxConnections: 200 });
  const template = await shared.dump();
  const isolated = await Promise.all(
    ISOLATED_DATABASES.map(async (name) => {
      const database = await startEmbeddedDatabase({ dataDir: '', template, maxConnections: 20 });
      process.env[isolatedVariable(name)] = database.url;
      return database;
    }),
  );
  return {
    url: shared.url,
    teardown: async () => {
      await Promise.all([shared, ...isolated].map((database) => database.stop()));
    },
  };
}

/**
 * One database for the whole run (initdb costs seconds; tests isolate themselves by creating their own users):
 * PostgreSQL when TEST_DATABASE_URL names a server (a fresh database is created on it and dropped after),
 * else the embedded PGlite in memory. Workers find it in SHIPSHAPE_TEST_DB_URL.
 */
export default async function globalSetup(): Promise<void> {
  const serverUrl = process.env.TEST_DATABASE_URL;
  const { url, teardown } = serverUrl ? await onServer(serverUrl) : await embedded();
  const db = createDatabase({ url, poolMin: 0, poolMax: 1 });
  await db.migrate.latest();
  await db.destroy();
  process.env.SHIPSHAPE_TEST_DB_URL = url;
  (globalThis as { shipshapeTeardown?: Teardown }).shipshapeTeardown = teardown;
}
