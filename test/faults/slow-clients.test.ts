import { connect } from 'node:net';
import { Client } from 'pg';
import { reportFigure } from '../support/report';
import { eventually } from '../support/waiting';
import type { AppProcess } from './support/app';
import { json, send, signUp } from './support/client';
import { useFaultRig } from './support/rig';

jest.setTimeout(60_000);

const rig = useFaultRig();
let app: AppProcess;

beforeAll(async () => {
  app = await rig.start({
    WEB_CONCURRENCY: '1',
    HEADERS_TIMEOUT_MS: '1000',
    REQUEST_TIMEOUT_MS: '2000',
  });
  await app.waitForLog((l) => l.msg === 'ready to serve');
});

/**
 * Opens a raw connection, writes `first`, then `drip` every 200 ms (at most 100 times), and resolves with what
 * the server sent once it closes the connection, and how long that took.
 */
function trickle(first: string, drip: string): Promise<{ received: string; ms: number }> {
  const { hostname, port } = new URL(app.url);
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const socket = connect({ host: hostname, port: Number(port) }, () => socket.write(first));
    let received = '';
    let drips = 0;
    const timer = setInterval(() => {
      if (drips++ < 100 && !socket.destroyed) socket.write(drip);
    }, 200);
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      received += chunk;
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      clearInterval(timer);
      resolve({ received, ms: Date.now() - started });
    });
    setTimeout(() => {
      clearInterval(timer);
      socket.destroy();
      reject(new Error('the server kept the connection open past 30 s'));
    }, 30_000).unref();
  });
}

describe('SRV-3: timeouts against slow clients', () => {
  test('when a client trickles headers forever (slowloris), then headersTimeout cuts it off with 408', async () => {
    const { received, ms } = await trickle('GET /health HTTP/1.1\r\nHost: localhost\r\n', 'X-Slow: yes\r\n');
    reportFigure(`slowloris header trickle cut after ${ms} ms (HEADERS_TIMEOUT_MS=1000)`);
    expect(received).toMatch(/^HTTP\/1\.1 408/);
  });

  test('when a client never finishes sending its body, then the connection is answered and closed', async () => {
    const head =
      'POST /api/v1/auth/login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"email":';
    const { received, ms } = await trickle(head, '');
    reportFigure(
      `unfinished body cut after ${ms} ms (REQUEST_TIMEOUT_MS=2000): ${received.split('\r\n')[0]}`,
    );
    expect(received).toMatch(/^HTTP\/1\.1 (408|503)/);
  });

  test('when a handler takes longer than REQUEST_TIMEOUT_MS, then the client gets 503 problem+json and the app keeps serving', async () => {
    const token = await signUp(app.url);
    const locker = new Client({ connectionString: rig.pg.url });
    await locker.connect();
    await locker.query('begin');
    await locker.query('lock table auth_sessions in access exclusive mode');
    const started = Date.now();
    const reply = await send(`${app.url}/api/v1/users/me`, { headers: { authorization: `Bearer ${token}` } });
    const ms = Date.now() - started;
    await locker.query('commit');
    await locker.end();

    reportFigure(`stuck handler answered ${reply.status} after ${ms} ms (REQUEST_TIMEOUT_MS=2000)`);
    expect(reply.status).toBe(503);
    expect(reply.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(json(reply)).toMatchObject({ status: 503, type: '/problems/request-timeout' });
    expect(reply.headers['retry-after']).toBe('5');
    await eventually(async () => {
      const again = await send(`${app.url}/api/v1/users/me`, {
        headers: { authorization: `Bearer ${token}` },
      });
      if (again.status !== 200) throw new Error(`status ${again.status}`);
    });
    expect(app.logs.some((l) => l.msg === 'unexpected error')).toBe(false);
  });
});
