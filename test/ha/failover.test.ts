import { Agent } from 'node:http';
import pg from 'pg';
import { type AppProcess, migrate, startApp, stopApp } from '../faults/support/app';
import { send, signUp } from '../faults/support/client';
import { reportFigure } from '../support/report';
import { waitFor } from '../support/waiting';
import { type HaCluster, startHaCluster } from './support/cluster';

jest.setTimeout(240_000);

interface Write {
  title: string;
  startedAt: number;
  endedAt: number;
  /** The HTTP status, or the network error's code. */
  outcome: number | string;
  problem: boolean;
}

let cluster: HaCluster | undefined;
let app: AppProcess | undefined;

afterAll(async () => {
  await stopApp(app);
  await cluster?.stop();
});

/** Bounded writers: `concurrency` clients POST numbered notes until told to stop, or for capMs at most. */
function writeNotes(baseUrl: string, token: string, { concurrency = 3, capMs = 90_000 } = {}) {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const writes: Write[] = [];
  let stopping = false;
  let next = 0;
  const cap = Date.now() + capMs;
  const client = async () => {
    while (!stopping && Date.now() < cap && next < 50_000) {
      const title = `ha-${next++}`;
      const startedAt = Date.now();
      try {
        const reply = await send(`${baseUrl}/api/v1/notes`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify({ title }),
          agent,
          timeoutMs: 15_000,
        });
        const problem = String(reply.headers['content-type']).startsWith('application/problem+json');
        writes.push({ title, startedAt, endedAt: Date.now(), outcome: reply.status, problem });
      } catch (error) {
        const outcome = (error as { code?: string }).code ?? (error as Error).message;
        writes.push({ title, startedAt, endedAt: Date.now(), outcome, problem: false });
      }
    }
  };
  const running = Promise.all(Array.from({ length: concurrency }, client));
  return {
    writes,
    async stop() {
      stopping = true;
      await running;
      agent.destroy();
    },
  };
}

describe('DB-14: Patroni failover with synchronous replication', () => {
  test('DB-14: when the primary host dies under steady writes, then Patroni promotes the sync standby, the app writes to it without a restart, answers 503 problem+json meanwhile and no acknowledged write is lost', async () => {
    cluster = await startHaCluster();
    const admin = new pg.Client({ connectionString: cluster.primaryUrl() });
    await admin.connect();
    await admin.query('create database shipshape');
    await admin.end();
    const url = cluster.primaryUrl('shipshape');
    migrate(url);
    app = await startApp({ DATABASE_URL: url, WEB_CONCURRENCY: '1', REQUEST_TIMEOUT_MS: '5000' });
    await app.waitForLog((line) => line.msg === 'ready to serve');
    const token = await signUp(app.url);

    const oldLeader = await cluster.leader();
    expect(oldLeader?.name).toBe('node1');
    const writers = writeNotes(app.url, token);
    await waitFor('steady writes', async () =>
      writers.writes.filter((w) => w.outcome === 201).length >= 50 ? true : undefined,
    );

    const killedAt = Date.now();
    cluster.crash(oldLeader!);
    let sawNotReady = false;
    const readyAgainAt = await waitFor(
      'readiness to be 200 again after the failover',
      async () => {
        const ready = await send(`${app!.url}/health/ready`, { timeoutMs: 5_000 });
        if (ready.status !== 200) sawNotReady = true;
        return ready.status === 200 && sawNotReady ? Date.now() : undefined;
      },
      { timeoutMs: 90_000, intervalMs: 100 },
    );
    const newLeader = await waitFor('a new leader', async () => cluster!.leader(), { timeoutMs: 60_000 });
    const promotedAt = Date.now();
    await waitFor('writes acknowledged after the failover', async () =>
      writers.writes.filter((w) => w.outcome === 201 && w.startedAt > readyAgainAt).length >= 20
        ? true
        : undefined,
    );
    await writers.stop();

    const { writes } = writers;
    const acknowledged = writes.filter((w) => w.outcome === 201);
    const failed = writes.filter((w) => w.outcome !== 201);
    const firstFailure = Math.min(...failed.map((w) => w.startedAt));
    const lastFailure = Math.max(...failed.map((w) => w.endedAt));
    const lastAckBefore = Math.max(
      ...acknowledged.filter((w) => w.endedAt <= firstFailure).map((w) => w.endedAt),
    );
    const firstAckAfter = Math.min(
      ...acknowledged.filter((w) => w.startedAt >= lastFailure).map((w) => w.endedAt),
    );

    const reader = new pg.Client({ connectionString: url });
    await reader.connect();
    const { rows } = await reader.query<{ title: string }>('select title from notes where title = any($1)', [
      acknowledged.map((w) => w.title),
    ]);
    await reader.end();
    const present = new Set(rows.map((row) => row.title));
    const lost = acknowledged.filter((w) => !present.has(w.title));
    const byOutcome: Record<string, number> = {};
    for (const w of failed) byOutcome[String(w.outcome)] = (byOutcome[String(w.outcome)] ?? 0) + 1;

    reportFigure(
      `Patroni failover (kill -9 of leader patroni + postmaster, synchronous_mode): leader ${newLeader.name} seen ${promotedAt - killedAt} ms after the kill (polled after readiness); readiness 200 again ${readyAgainAt - killedAt} ms after the kill; write unavailability (last 201 before the first failure to first 201 after the last) ${firstAckAfter - lastAckBefore} ms; ${writes.length} writes, ${acknowledged.length} acknowledged, failures ${JSON.stringify(byOutcome)}; acknowledged writes lost: ${lost.length}`,
    );
    expect(newLeader.name).toBe('node2');
    expect(lost.map((w) => w.title)).toEqual([]);
    // Every refusal during the failover was an answer the client can retry: 503 problem+json, never a 500.
    expect(failed.filter((w) => w.outcome !== 503 || !w.problem)).toEqual([]);
    expect(app.child.exitCode).toBeNull();
  });
});
