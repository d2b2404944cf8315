import { reportFigure } from '../support/report';
import { eventually, sleep } from '../support/waiting';
import { type AppProcess, waitForWorkers } from './support/app';
import { json, loadUntil, send, signUp } from './support/client';
import { useFaultRig } from './support/rig';

jest.setTimeout(120_000);

const rig = useFaultRig();
let app: AppProcess;

describe('HLT-2, HLT-3, HLT-4: PostgreSQL outage', () => {
  test('when PostgreSQL stops under load, then probes and API answer 503 in time, liveness stays 200, no process exits, and it recovers by itself', async () => {
    app = await rig.start({ WEB_CONCURRENCY: '2', REQUEST_TIMEOUT_MS: '4000' });
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
    await sleep(500);
    rig.pg.stop();

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

    rig.pg.start();
    const restarted = Date.now();
    await eventually(
      async () => {
        const ready = await send(`${app.url}/health/ready`);
        if (ready.status !== 200) throw new Error(`ready ${ready.status}`);
      },
      { timeoutMs: 30_000, intervalMs: 100 },
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
