import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { type AppProcess, migrate, startApp, stopApp } from '../faults/support/app';
import { json, type Reply, send, signUp } from '../faults/support/client';
import { freePort } from '../support/net';
import { asPostgres, type PrivatePostgres, startPrivatePostgres } from '../support/postgres';
import { reportFigure } from '../support/report';
import { sleep, waitFor } from '../support/waiting';

jest.setTimeout(120_000);

/** READ_YOUR_WRITES_MS in src/db/read-routing.ts, and a margin. */
const AFTER_THE_WINDOW_MS = 5_500;

let primary: PrivatePostgres | undefined;
let app: AppProcess | undefined;
let replicaDir = '';
let replicaPort = 0;

const replicaOptions = () => `-p ${replicaPort} -k ${replicaDir} -c listen_addresses=127.0.0.1 -c fsync=off`;
const startReplica = () =>
  asPostgres('pg_ctl', [
    '-D',
    join(replicaDir, 'data'),
    '-o',
    replicaOptions(),
    '-l',
    join(replicaDir, 'log'),
    '-w',
    'start',
  ]);
const stopReplica = () => asPostgres('pg_ctl', ['-D', join(replicaDir, 'data'), '-m', 'fast', '-w', 'stop']);

async function onReplica<T>(sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:${replicaPort}/postgres` });
  await client.connect();
  try {
    return (await client.query(sql)).rows as T[];
  } finally {
    await client.end();
  }
}

beforeAll(async () => {
  primary = await startPrivatePostgres();
  migrate(primary.url);
  // The primary's data folder sits beside a fresh one for the standby: pg_basebackup -R writes standby.signal
  // and primary_conninfo, so it starts streaming.
  replicaDir = mkdtempSync(join(tmpdir(), 'shipshape-replica-'));
  execFileSync('chown', ['postgres', replicaDir]);
  replicaPort = await freePort();
  asPostgres('pg_basebackup', [
    '-h',
    '127.0.0.1',
    '-p',
    String(primary.port),
    '-U',
    'postgres',
    '-D',
    join(replicaDir, 'data'),
    '-R',
    '-X',
    'stream',
  ]);
  startReplica();
  await waitFor('the replica to stream', async () => {
    const [row] = await onReplica<{ standby: boolean }>('select pg_is_in_recovery() as standby');
    return row?.standby ? true : undefined;
  });
});

afterAll(async () => {
  await stopApp(app);
  try {
    stopReplica();
  } catch {
    // already stopped
  }
  if (replicaDir) rmSync(replicaDir, { recursive: true, force: true });
  primary?.destroy();
});

const titles = (reply: Reply) => (json(reply).items as { title: string }[]).map((note) => note.title);

describe('DB-5: reads on a streaming replica', () => {
  let token = '';
  const notes = () => send(`${app!.url}/api/v1/notes`, { headers: { authorization: `Bearer ${token}` } });
  const write = (title: string) =>
    send(`${app!.url}/api/v1/notes`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ title }),
    });

  test('DB-5: when replay on the replica is paused, then a user reads their own write at once (primary) and, after the read-your-writes window, reads from the replica without it until replay resumes', async () => {
    app = await startApp({
      DATABASE_URL: primary!.url,
      DATABASE_REPLICA_URL: `postgres://postgres@127.0.0.1:${replicaPort}/postgres`,
      WEB_CONCURRENCY: '1',
    });
    await app.waitForLog((line) => line.msg === 'ready to serve');
    token = await signUp(app.url);
    const ready = await send(`${app.url}/health/ready`);
    expect(ready.status).toBe(200);
    expect((json(ready).checks as { replica: { status: string } }).replica.status).toBe('up');

    await onReplica('select pg_wal_replay_pause()');
    expect((await write('during the pause')).status).toBe(201);
    const straightAfter = await notes();
    expect(straightAfter.status).toBe(200);
    expect(titles(straightAfter)).toContain('during the pause');

    await sleep(AFTER_THE_WINDOW_MS);
    const fromReplica = await notes();
    expect(fromReplica.status).toBe(200);
    expect(titles(fromReplica)).not.toContain('during the pause');

    await onReplica('select pg_wal_replay_resume()');
    const caughtUpAt = Date.now();
    await waitFor(
      'the replica to replay the write',
      async () => (titles(await notes()).includes('during the pause') ? true : undefined),
      { intervalMs: 20 },
    );
    reportFigure(
      `read replica: the write was visible on it ${Date.now() - caughtUpAt} ms after replay resumed`,
    );
  });

  test('DB-5: when the replica stops, then reads fall back to the primary with no 5xx, readiness stays 200 with the replica down, and reads return to it once it is back', async () => {
    stopReplica();
    await sleep(AFTER_THE_WINDOW_MS);
    const statuses: number[] = [];
    for (let i = 0; i < 20; i += 1) {
      const reply = await notes();
      statuses.push(reply.status);
      if (reply.status === 200) expect(titles(reply)).toContain('during the pause');
    }
    expect(statuses.filter((status) => status !== 200)).toEqual([]);
    const ready = await send(`${app!.url}/health/ready`);
    expect(ready.status).toBe(200);
    expect((json(ready).checks as { replica: { status: string } }).replica.status).toBe('down');

    startReplica();
    await waitFor('readiness to report the replica up', async () => {
      const again = await send(`${app!.url}/health/ready`);
      return (json(again).checks as { replica: { status: string } }).replica.status === 'up'
        ? true
        : undefined;
    });
    // Proof that reads use it again: paused replay hides a new write once the window has passed.
    await onReplica('select pg_wal_replay_pause()');
    expect((await write('while paused again')).status).toBe(201);
    await sleep(AFTER_THE_WINDOW_MS + 5_000); // and past the replica's retry pause after the failure
    expect(titles(await notes())).not.toContain('while paused again');
    await onReplica('select pg_wal_replay_resume()');
  });
});
