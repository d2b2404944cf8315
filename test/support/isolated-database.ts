import { randomBytes } from 'node:crypto';
import { createDatabase } from '../../src/db/knex';

/** Test files that need a database of their own; global-setup prepares one embedded database for each. */
export const ISOLATED_DATABASES = ['migrations', 'readiness', 'cli'] as const;
export type IsolatedName = (typeof ISOLATED_DATABASES)[number];
export const isolatedVariable = (name: IsolatedName) => `SHIPSHAPE_ISOLATED_DB_${name.toUpperCase()}`;

export interface IsolatedDatabase {
  /** Set for a database on a server (absent for an embedded one). */
  name?: string;
  url: string;
  drop(): Promise<void>;
}

/**
 * A fresh, empty database of its own, for tests that change session or schema state (rolling back every
 * migration, planner settings). The run's shared embedded database cannot host them: PGlite multiplexes
 * every connection onto one backend session, so such state would leak into other suites. On a PostgreSQL
 * server a database is created here; embedded ones are started by global-setup, because PGlite cannot load
 * inside jest's module sandbox.
 */
export async function isolatedDatabase(name: IsolatedName): Promise<IsolatedDatabase> {
  const serverUrl = process.env.TEST_DATABASE_URL;
  if (!serverUrl) {
    const url = process.env[isolatedVariable(name)];
    if (!url) throw new Error(`${isolatedVariable(name)} is unset: is '${name}' in ISOLATED_DATABASES?`);
    return { url, drop: async () => {} };
  }
  return createServerDatabase(serverUrl, name);
}

/** A new database on a PostgreSQL server (the URL's role needs CREATEDB), dropped with drop(). */
export async function createServerDatabase(serverUrl: string, purpose: string): Promise<IsolatedDatabase> {
  const database = `shipshape_${purpose}_${randomBytes(4).toString('hex')}`;
  const admin = createDatabase({ url: serverUrl, poolMin: 0, poolMax: 1 });
  await admin.raw(`create database ${database}`);
  const url = new URL(serverUrl);
  url.pathname = `/${database}`;
  return {
    name: database,
    url: url.toString(),
    async drop() {
      await admin.raw(`drop database if exists ${database} with (force)`);
      await admin.destroy();
    },
  };
}
