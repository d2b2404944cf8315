import { freePort } from '../support/net';
import { reportFigure } from '../support/report';
import { eventually } from '../support/waiting';
import { type AppProcess, waitForWorkers } from './support/app';
import { loadUntil, send, signUp } from './support/client';
import { useFaultRig } from './support/rig';

jest.setTimeout(120_000);

const rig = useFaultRig({ perTest: true });
let app: AppProcess | undefined;

const CONCURRENCY = 8;

describe('SRV-1, SRV-2: worker supervision', () => {
  test('when a worker is killed with SIGKILL under load, then it is replaced and only requests it held fail', async () => {
    app = await rig.start({ WEB_CONCURRENCY: '2' });
    await waitForWorkers(app, 2);
    const token = await signUp(app.url);
    const [victim, survivor] = app.workerPids();

    const replaced = app.waitForLog(
      (l) => l.msg === 'worker ready' && l.pid !== victim && l.pid !== survivor,
    );
    const load = loadUntil(`${app.url}/api/v1/users/me`, {
      headers: { authorization: `Bearer ${token}` },
      concurrency: CONCURRENCY,
      until: replaced.then(() => new Promise((resolve) => setTimeout(resolve, 1_000))),
      capMs: 30_000,
    });
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    process.kill(victim!, 'SIGKILL');
    await replaced;
    const result = await load;

    reportFigure(
      `SIGKILL of 1 of 2 workers under load (${CONCURRENCY} clients): ${result.ok} served, ${result.failed} failed ${JSON.stringify(result.failures)}`,
    );
    // At most the requests in flight on the dead worker's connections: one per client. Each fails as a reset,
    // or (rarely) as a client timeout when the primary was handing that connection to the worker as it died
    // (docs/process-model.md); never as a wrong answer.
    expect(result.failed).toBeLessThanOrEqual(CONCURRENCY);
    expect(
      Object.keys(result.failures).every((kind) => /^E[A-Z]+$|socket hang up|client timeout/.test(kind)),
    ).toBe(true);
    expect(app.logs.some((l) => l.msg === 'worker died: replacing it' && l.signal === 'SIGKILL')).toBe(true);
    await eventually(async () => {
      if (app!.workerPids().length !== 2) throw new Error('not two workers');
    });
    expect((await send(`${app.url}/health`)).status).toBe(200);
  });

  test('when workers die as fast as they start, then the primary stops with a crash-loop line and exit 1', async () => {
    // Nothing listens on this port: every worker fails to reach its database at start-up and exits 1.
    app = await rig.start({
      DATABASE_URL: `postgres://postgres@127.0.0.1:${await freePort()}/postgres`,
      WEB_CONCURRENCY: '2',
    });
    const { code } = await app.exited;
    const line = app.logs.find((l) => l.level === 'fatal' && /^crash loop/.test(l.msg));
    reportFigure(`crash loop detected: ${line?.msg}`);
    expect(line).toBeDefined();
    expect(code).toBe(1);
    const restarts = app.logs.filter((l) => l.msg === 'worker died: replacing it').map((l) => l.restartInMs);
    // Backoff: each restart waits longer than the one before.
    expect(restarts).toEqual([...(restarts as number[])].sort((a, b) => a - b));
  });
});
