import { randomBytes } from 'node:crypto';
import { createDatabase, type Knex } from '../../../src/db/knex';

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

/** A fresh, empty database for one test file; dropped by the returned function. */
export async function freshDatabase(
  prefix: string,
): Promise<{ name: string; url: string; drop(): Promise<void> }> {
  const name = `${prefix}_${randomBytes(4).toString('hex')}`;
  const admin = createDatabase({ url: adminUrl(), poolMin: 0, poolMax: 1 });
  await admin.raw(`create database ${name}`);
  await admin.destroy();
  return {
    name,
    url: databaseUrl(name),
    async drop() {
      const again = createDatabase({ url: adminUrl(), poolMin: 0, poolMax: 1 });
      await again.raw(`drop database if exists ${name} with (force)`);
      await again.destroy();
    },
  };
}

export function connect(url: string): Knex {
  return createDatabase({ url, poolMin: 0, poolMax: 2 });
}
