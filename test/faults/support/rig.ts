import { type PrivatePostgres, startPrivatePostgres } from '../../support/postgres';
import { type AppProcess, migrate, startApp, stopApp } from './app';

export interface FaultRig {
  /** The file's own PostgreSQL 15 cluster, migrated; a test may stop and start it. */
  readonly pg: PrivatePostgres;
  /** The built app on that cluster (DATABASE_URL set; env may override it), stopped by the rig. */
  start(env?: Record<string, string>): Promise<AppProcess>;
}

/**
 * Every fault test file's setup, as hooks (call it at the top level): a private PostgreSQL 15 cluster migrated
 * the way a deploy does, destroyed after the file; the apps started with start() stopped after each test when
 * each test starts its own (perTest), else after the file, so a later test may go on with an earlier one's app.
 */
export function useFaultRig({ perTest = false }: { perTest?: boolean } = {}): FaultRig {
  let pg: PrivatePostgres | undefined;
  const running: AppProcess[] = [];
  const stopAll = async () => {
    for (const app of running.splice(0)) await stopApp(app);
  };
  beforeAll(async () => {
    pg = await startPrivatePostgres();
    migrate(pg.url);
  });
  if (perTest) afterEach(stopAll);
  afterAll(async () => {
    await stopAll();
    pg?.destroy();
  });
  return {
    get pg() {
      if (!pg) throw new Error('the rig has no cluster yet: use it inside hooks and tests');
      return pg;
    },
    async start(env = {}) {
      const app = await startApp({ DATABASE_URL: this.pg.url, ...env });
      running.push(app);
      return app;
    },
  };
}
