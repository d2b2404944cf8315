// First, so OpenTelemetry and Sentry patch http, express, knex and pg before anything requires them; a no-op
// when `node --import ./dist/instrument.js` has already loaded it.
import './instrument.js';
import cluster from 'node:cluster';
import { type Config, loadConfigOrExit } from './config/index.js';
import { createLogger } from './observability/logger.js';
import { runPrimary } from './process/primary.js';
import { runWorker } from './process/worker.js';
import { version } from './version.js';

/**
 * Several workers only where they help and work: not in development (one process reloads faster and
 * debugs simpler), not on the embedded database (PGlite lives inside one process), not with
 * WEB_CONCURRENCY=1 (containers scale by replicas; see docs/process-model.md).
 */
function shouldCluster(config: Config): boolean {
  return config.appEnv !== 'development' && config.database.url !== undefined && config.webConcurrency > 1;
}

async function main(): Promise<void> {
  // Before anything opens a port: a bad configuration exits 78 naming every problem.
  const config = loadConfigOrExit();
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
