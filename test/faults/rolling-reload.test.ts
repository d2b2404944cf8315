import { reportFigure } from '../support/report';
import { eventually } from '../support/waiting';
import { type AppProcess, waitForWorkers } from './support/app';
import { loadUntil, signUp } from './support/client';
import { useFaultRig } from './support/rig';

jest.setTimeout(120_000);

const rig = useFaultRig();
let app: AppProcess;
const seen = new Set<object>();

describe('SRV-4, OPS-4: rolling reload', () => {
  test('when SIGHUP arrives under load, then every worker is replaced one at a time and no request fails', async () => {
    app = await rig.start({ WEB_CONCURRENCY: '2' });
    await waitForWorkers(app, 2);
    const before = app.workerPids();
    const token = await signUp(app.url);

    const reloaded = app.waitForLog((l) => l.msg === 'reload: done', 60_000);
    const load = loadUntil(`${app.url}/api/v1/users/me`, {
      headers: { authorization: `Bearer ${token}` },
      concurrency: 8,
      // Runs through the whole roll and a second past it, capped at 30 s.
      until: reloaded.then(() => new Promise((resolve) => setTimeout(resolve, 1_000))),
      capMs: 30_000,
    });
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const started = Date.now();
    app.kill('SIGHUP');
    await reloaded;
    const rollMs = Date.now() - started;
    const result = await load;

    const after = await eventually(async () => {
      const pids = app.workerPids();
      if (pids.length !== 2) throw new Error(`workers: ${pids}`);
      return pids;
    });
    reportFigure(
      `rolling reload of 2 workers under load: ${result.ok} requests served, ${result.failed} failed ${JSON.stringify(result.failures)}, roll took ${rollMs} ms`,
    );
    expect(result.failures).toEqual({});
    expect(result.ok).toBeGreaterThan(0);
    expect(after.filter((pid) => before.includes(pid))).toEqual([]);
    // Each new worker was ready before an old one began to drain.
    const order = app.logs.filter((l) => l.msg === 'worker ready' || l.msg === 'draining').map((l) => l.msg);
    expect(order.slice(-4)).toEqual(['worker ready', 'draining', 'worker ready', 'draining']);
  });

  test('when a second SIGHUP arrives during a reload, then one more roll follows, so the newest release serves', async () => {
    await waitForWorkers(app, 2);
    const doneBefore = app.logs.filter((l) => l.msg === 'reload: done').length;
    for (const line of app.logs) seen.add(line); // lines of the first test's reload are not this one's
    const rolling = app.waitForLog(
      (l) => l.msg === 'reload: rolling workers one at a time' && !seen.has(l),
      60_000,
    );
    app.kill('SIGHUP');
    await rolling;
    const midRoll = app.workerPids();
    app.kill('SIGHUP');
    // Several during one roll still make one more roll, not one each (a gap, or the kernel merges the two).
    await new Promise((resolve) => setTimeout(resolve, 300));
    app.kill('SIGHUP');
    await eventually(
      async () => {
        const done = app.logs.filter((l) => l.msg === 'reload: done').length - doneBefore;
        if (done < 2) throw new Error(`reloads done: ${done}`);
      },
      { timeoutMs: 90_000 },
    );
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect(app.logs.filter((l) => l.msg === 'reload: done').length - doneBefore).toBe(2);
    expect(app.logs.filter((l) => /^reload in progress/.test(l.msg)).length).toBe(2);
    const after = await eventually(async () => {
      const pids = app.workerPids();
      if (pids.length !== 2) throw new Error(`workers: ${pids}`);
      return pids;
    });
    // Every worker alive when the second signal came was replaced by the queued roll.
    expect(after.filter((pid) => midRoll.includes(pid))).toEqual([]);
  });
});
