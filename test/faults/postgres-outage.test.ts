import { type AppProcess, migrate, startApp, stopApp, waitForWorkers } from './support/app';
import { delay, eventually, json, loadUntil, send, signUp } from './support/client';
import { type PrivatePostgres, startPrivatePostgres } from './support/postgres';
import { reportFigure } from './support/report';

jest.setTimeout(120_000);

let pg: PrivatePostgres;
let app: AppProcess;

beforeAll(() => {
  pg = startPrivatePostgres();
  migrate(pg.url);
});
afterAll(async () => {
  await stopApp(app);
  pg.destroy();
});

describe('HLT-2, HLT-3, HLT-4: PostgreSQL outage', () => {
  test('when PostgreSQL stops under load, then probes and API answer 503 in time, liveness stays 200, no process exits, and it recovers by itself', async () => {
    app = await startApp({ DATABASE_URL: pg.url, WEB_CONCURRENCY: '2', REQUEST_TIMEOUT_MS: '4000' });
    await waitForWorkers(app, 2);
    const pids = app.workerPids();
    const token = await signUp(app.url);
    const me = `${app.url}/api/v1/users/me`;
    const auth = { authorization: `Bearer ${token}` };

    let outageOver: () => void = () => {};
    const load = loadUntil(me, {
      headers: auth,
      concurrency: 4,
      until: new Promise<void>((resolve) => {
        outageOver = resolve;
      }),
      capMs: 60_000,
    });
    await delay(500);
    pg.stop();

    const down = await eventually(async () => {
      const health = await send(`${app.url}/health`);
      if (health.status !== 503) throw new Error(`health ${health.status}`);
      return health;
    });
    expect(json(down).status).toBe('unhealthy');
    expect((await send(`${app.url}/health/ready`)).status).toBe(503);
    expect((await send(`${app.url}/health/live`)).status).toBe(200);
    const api = await send(me, { headers: auth });
    expect(api.status).toBe(503);
    expect(api.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(api.headers['retry-after']).toBeDefined();

    pg.start();
    const restarted = Date.now();
    await eventually(
      async () => {
        const ready = await send(`${app.url}/health/ready`);
        if (ready.status !== 200) throw new Error(`ready ${ready.status}`);
      },
      30_000,
      100,
    );
    const recoveryMs = Date.now() - restarted;
    await eventually(async () => {
      if ((await send(me, { headers: auth })).status !== 200) throw new Error('API not back');
    });
    outageOver();
    const result = await load;

    reportFigure(
      `PostgreSQL outage under load: ready again ${recoveryMs} ms after PostgreSQL started; during the run ${result.ok} requests got 200 and ${result.failed} did not ${JSON.stringify(result.failures)}`,
    );
    // Every failure was an answer (503), never a reset, a hang or a 500.
    expect(Object.keys(result.failures).filter((kind) => kind !== '503')).toEqual([]);
    expect(app.workerPids().sort()).toEqual(pids.sort());
    expect(app.logs.some((l) => l.msg === 'worker died: replacing it')).toBe(false);
    expect(app.child.exitCode).toBeNull();
  });
});
