import { createDatabase, type Knex } from '../../../src/db/knex';
import { createServerDatabase, type IsolatedDatabase } from '../../support/isolated-database';

/**
 * The admin URL of a PostgreSQL server whose role may CREATE DATABASE (.ci/lib.sh's start_postgres prints one).
 * The deploy drill and the backup test need a real server: pg_dump cannot dump the embedded database.
 */
export function adminUrl(): string {
  const url = process.env.TEST_DATABASE_URL;
  if (!url)
    throw new Error(
      'TEST_DATABASE_URL is unset: test:infra needs a PostgreSQL server (see .ci/steps/20-infra.sh)',
    );
  return url;
}

export function databaseUrl(name: string): string {
  const url = new URL(adminUrl());
  url.pathname = `/${name}`;
  return url.toString();
}

/** A fresh, empty database on the infra suites' server for one test file; dropped by its drop(). */
export const freshDatabase = (purpose: string): Promise<IsolatedDatabase> =>
  createServerDatabase(adminUrl(), purpose);

export function connect(url: string): Knex {
  return createDatabase({ url, poolMin: 0, poolMax: 2 });
}
