import { connect } from 'node:net';
import { Client } from 'pg';
import { reportFigure } from '../support/report';
import { eventually } from '../support/waiting';
import { type AppProcess, waitForWorkers } from './support/app';
import { send, signUp } from './support/client';
import { useFaultRig } from './support/rig';

jest.setTimeout(90_000);

const rig = useFaultRig({ perTest: true });
let app: AppProcess | undefined;

/** Resolves once the kernel refuses a new connection to the port. */
const refused = (url: string) =>
  new Promise<void>((resolve, reject) => {
    const { hostname, port } = new URL(url);
    const socket = connect({ host: hostname, port: Number(port) });
    socket.once('connect', () => {
      socket.destroy();
      reject(new Error('still accepting'));
    });
    socket.once('error', (error: NodeJS.ErrnoException) =>
      error.code === 'ECONNREFUSED' ? resolve() : reject(error),
    );
  });

/** Holds an exclusive lock so every authenticated request waits in PostgreSQL: slow, but not broken. */
async function holdSessionsLock(): Promise<Client> {
  const locker = new Client({ connectionString: rig.pg.url });
  await locker.connect();
  await locker.query('begin');
  await locker.query('lock table auth_sessions in access exclusive mode');
  return locker;
}

async function waitingQueries(): Promise<number> {
  const observer = new Client({ connectionString: rig.pg.url });
  await observer.connect();
  const { rows } = await observer.query(
    "select count(*)::int as n from pg_stat_activity where application_name = 'shipshape' and wait_event_type = 'Lock'",
  );
  await observer.end();
  return rows[0].n as number;
}

describe('SRV-4: graceful shutdown', () => {
  test('when SIGTERM arrives during slow requests, then they all finish with 200, new connections are refused and the exit code is 0', async () => {
    app = await rig.start({ WEB_CONCURRENCY: '2', SHUTDOWN_TIMEOUT_MS: '20000' });
    await waitForWorkers(app, 2);
    const token = await signUp(app.url);
    const locker = await holdSessionsLock();
    const inFlight = Array.from({ length: 6 }, () =>
      send(`${app!.url}/api/v1/users/me`, { headers: { authorization: `Bearer ${token}` } }),
    );
    await eventually(async () => {
      if ((await waitingQueries()) < 6) throw new Error('requests not in flight yet');
    });

    const signalled = Date.now();
    app.kill('SIGTERM');
    await eventually(() => refused(app!.url), { timeoutMs: 10_000, intervalMs: 50 });
    const readiness = app.logs.filter((l) => l.msg === 'draining').length;
    await locker.query('commit');
    await locker.end();

    const replies = await Promise.all(inFlight);
    const { code } = await app.exited;
    reportFigure(`SIGTERM with 6 slow requests in flight: exit ${code} after ${Date.now() - signalled} ms`);
    expect(replies.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 200]);
    expect(readiness).toBe(2);
    expect(code).toBe(0);
  });

  test('when a request outlives SHUTDOWN_TIMEOUT_MS, then the worker cuts it and the exit code is 1', async () => {
    app = await rig.start({ WEB_CONCURRENCY: '2', SHUTDOWN_TIMEOUT_MS: '1000' });
    await waitForWorkers(app, 2);
    const token = await signUp(app.url);
    const locker = await holdSessionsLock();
    const stuck = send(`${app.url}/api/v1/users/me`, { headers: { authorization: `Bearer ${token}` } }).catch(
      (error: NodeJS.ErrnoException) => error.code,
    );
    await eventually(async () => {
      if ((await waitingQueries()) < 1) throw new Error('request not in flight yet');
    });
    app.kill('SIGTERM');
    const { code } = await app.exited;
    await locker.query('rollback');
    await locker.end();
    expect(await stuck).toBe('ECONNRESET');
    expect(code).toBe(1);
    expect(app.logs.some((l) => l.msg === 'stopped at the deadline')).toBe(true);
  });

  test('when a second SIGTERM arrives during the drain, then the process exits 1 at once', async () => {
    app = await rig.start({ WEB_CONCURRENCY: '2', SHUTDOWN_TIMEOUT_MS: '60000' });
    await waitForWorkers(app, 2);
    const token = await signUp(app.url);
    const locker = await holdSessionsLock();
    const stuck = send(`${app.url}/api/v1/users/me`, { headers: { authorization: `Bearer ${token}` } }).catch(
      () => 'cut',
    );
    await eventually(async () => {
      if ((await waitingQueries()) < 1) throw new Error('request not in flight yet');
    });
    app.kill('SIGTERM');
    await app.waitForLog((l) => l.msg === 'draining');
    app.kill('SIGTERM');
    const { code } = await app.exited;
    await locker.query('rollback');
    await locker.end();
    expect(code).toBe(1);
    expect(await stuck).toBe('cut');
  });
});
