// First, so OpenTelemetry and Sentry patch http, express, knex and pg before anything requires them; a no-op
// when `node --import ./dist/instrument.js` has already loaded it (OBS-4, OBS-8).
import './instrument.js';
import cluster from 'node:cluster';
import { type Config, ConfigError, EX_CONFIG, loadConfig, loadDotEnv } from './config/index.js';
import { createLogger } from './observability/logger.js';
import { runPrimary } from './process/primary.js';
import { runWorker } from './process/worker.js';
import { version } from './version.js';

/** Reads and validates the configuration before anything opens a port (CFG-6); a bad one exits 78. */
function configure(): Config {
  try {
    loadDotEnv();
    return loadConfig(process.env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(error.message);
    process.exit(EX_CONFIG);
  }
}

/**
 * Several workers only where they help and work (SRV-2): not in development (one process reloads faster and
 * debugs simpler), not on the embedded database (PGlite lives inside one process), not with
 * WEB_CONCURRENCY=1 (containers scale by replicas; see docs/process-model.md).
 */
function shouldCluster(config: Config): boolean {
  return config.appEnv !== 'development' && config.database.url !== undefined && config.webConcurrency > 1;
}

async function main(): Promise<void> {
  const config = configure();
  if (cluster.isPrimary && shouldCluster(config)) {
    const logger = createLogger({ ...config.log, base: { env: config.appEnv, version, role: 'primary' } });
    await runPrimary(config, logger);
  } else {
    await runWorker(config, { clustered: cluster.isWorker });
  }
}

main().catch((error) => {
  console.error('start-up failed:', error);
  process.exit(1);
});
