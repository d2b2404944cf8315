import { readFileSync } from 'node:fs';
import { parseEnv } from 'node:util';
import { type Config, loadConfig } from '../config/index.js';
import { createDatabase, type Knex } from '../db/knex.js';
import { CannotRun, type Context, type DoctorOptions } from './types.js';

/** What systemd/shipshape.service sets beside its EnvironmentFile. */
const UNIT_ENVIRONMENT = { APP_ENV: 'production', NODE_ENV: 'production' };

/**
 * The service's variables: the env file read as systemd reads it, over the unit's fixed ones. When the file is
 * not readable here (no root, a container), the doctor's own environment stands in for it.
 */
function readServiceEnv(options: DoctorOptions): Record<string, string> {
  let fromFile: Record<string, string | undefined>;
  try {
    fromFile = parseEnv(readFileSync(options.envFile, 'utf8'));
  } catch {
    fromFile = { ...process.env };
  }
  const env = { ...UNIT_ENVIRONMENT, ...fromFile } as Record<string, string>;
  if (options.credentialsDir) env.CREDENTIALS_DIRECTORY = options.credentialsDir;
  return env;
}

export function createContext(options: DoctorOptions): Context & { close(): Promise<void> } {
  let env: Record<string, string> | undefined;
  let config: { value?: Config; error?: unknown } | undefined;
  let db: Knex | undefined;
  const context = {
    options,
    serviceEnv: () => {
      env ??= readServiceEnv(options);
      return env;
    },
    config(): Config {
      if (!config) {
        try {
          config = { value: loadConfig(context.serviceEnv()) };
        } catch (error) {
          config = { error };
        }
      }
      if (config.error) throw config.error;
      return config.value!;
    },
    async db(): Promise<Knex> {
      let url: string | undefined;
      try {
        url = context.config().database.url;
      } catch {
        throw new CannotRun('the configuration is refused (config.refusals), so the database is unknown');
      }
      if (!url) throw new CannotRun('DATABASE_URL is unset: the embedded database is not a deployment');
      if (!db) {
        db = createDatabase({ url, poolMin: 0, poolMax: 1 });
        await db.raw('select 1');
      }
      return db;
    },
    async close() {
      await db?.destroy();
    },
  };
  return context;
}
