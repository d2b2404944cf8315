import type { Config } from '../config/index.js';
import { type EmbeddedDatabase, startEmbeddedDatabase } from '../db/embedded.js';
import { createDatabase, type Knex, markPreparing, usePreparedStatements } from '../db/knex.js';
import type { Logger } from '../observability/logger.js';

export interface OpenDatabase {
  db: Knex;
  /** DATABASE_REPLICA_URL's pool, for the reads that tolerate lag; not for one-shot commands. */
  replica?: Knex;
  /** The connection URL, for clients with pools of their own (the job queue). */
  url: string;
  /**
   * Closes the pool, then the embedded server if this process started one. knex waits for queries still
   * running, which after a drain cut off at its deadline may never end: `poolTimeoutMs` bounds that wait.
   */
  close(poolTimeoutMs?: number): Promise<void>;
}

export interface OpenOptions {
  /** For the embedded server's start and the slow-query log; a one-shot command passes none. */
  logger?: Logger;
  /** A one-shot command (migrate, seed): one connection, no prepared statements. */
  singleConnection?: boolean;
}

/**
 * The database the configuration names: DATABASE_URL, or else the embedded PGlite (development and tests),
 * started here or shared with the process already serving that data folder. One function for the server's
 * workers and the command line, so both follow the same rule.
 */
export async function openDatabase(
  settings: Config['database'],
  options: OpenOptions = {},
): Promise<OpenDatabase> {
  const { logger, singleConnection = false } = options;
  const embedded: EmbeddedDatabase | undefined = settings.url
    ? undefined
    : await startEmbeddedDatabase({ dataDir: settings.embeddedDir, logger });
  const db = createDatabase({
    url: settings.url ?? embedded!.url,
    poolMin: singleConnection ? 0 : settings.poolMin,
    poolMax: singleConnection ? 1 : settings.poolMax,
    slowQueryMs: settings.slowQueryMs,
    logger,
  });
  if (settings.preparedStatements && !singleConnection) await usePreparedStatements(db);
  const replica =
    settings.replicaUrl && !singleConnection
      ? createDatabase({
          url: settings.replicaUrl,
          poolMin: 0,
          poolMax: settings.poolMax,
          slowQueryMs: settings.slowQueryMs,
          logger,
        })
      : undefined;
  // Decided without a round trip: the replica may be down while the app starts, and reads then use the primary.
  if (replica && settings.preparedStatements) markPreparing(replica);
  return {
    db,
    replica,
    url: settings.url ?? embedded!.url,
    async close(poolTimeoutMs) {
      const destroyed = Promise.all([db.destroy(), replica?.destroy()]);
      await (poolTimeoutMs === undefined
        ? destroyed
        : Promise.race([destroyed, new Promise((resolve) => setTimeout(resolve, poolTimeoutMs).unref())]));
      await embedded?.stop();
    },
  };
}
