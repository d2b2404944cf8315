import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { Agent, request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROBLEM_TYPES } from '../../src/http/problem';
import { type AppProcess, startBuiltApp } from '../infra/support/app';
import { send } from '../infra/support/http';
import { type PrivateNginx, privateNginx } from '../infra/support/nginx';
import { REPO, run } from '../support/processes';
import { reportFigure } from '../support/report';
import { sleep, waitFor } from '../support/waiting';

/**
 * Maintenance mode through the shipped nginx site in front of the built app: deploy/maintenance.sh switches it
 * with a file, so the same nginx and app processes serve before, during and after.
 */
jest.setTimeout(120_000);

const OPERATOR_ADDRESS = '127.0.0.3';
const CLIENT_ADDRESS = '127.0.0.5';
const RETRY_AFTER = PROBLEM_TYPES.maintenance.headers['Retry-After'];

let nginx: PrivateNginx;
let app: AppProcess;
let maintenanceDir: string;
let ca: string;
let token: string;
const url = (path: string) => `https://localhost:${nginx.httpsPort}${path}`;

function maintenance(...args: string[]) {
  return run(join(REPO, 'deploy', 'maintenance.sh'), args, {
    env: { ...process.env, SHIPSHAPE_MAINTENANCE_DIR: maintenanceDir },
  });
}

/** The pids of a process and its children: a restart or reload changes them. */
function processTree(pid: number): number[] {
  const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/);
  return [pid, ...children.filter(Boolean).map(Number)].sort((a, b) => a - b);
}
const nginxPid = () => Number(readFileSync(join(nginx.dir, 'nginx.pid'), 'utf8').trim());
const allPids = () => ({ nginx: processTree(nginxPid()), app: processTree(app.child.pid!) });

const api = (path: string, from = CLIENT_ADDRESS, headers: Record<string, string> = {}) =>
  send(url(path), { ca, localAddress: from, headers: { authorization: `Bearer ${token}`, ...headers } });

beforeAll(async () => {
  const work = mkdtempSync(join(tmpdir(), 'shipshape-maintenance-'));
  // nginx's workers run unprivileged: they must be able to read the body and see the switch.
  chmodSync(work, 0o755);
  maintenanceDir = join(work, 'maintenance');
  app = await startBuiltApp({
    databaseUrl: process.env.SHIPSHAPE_TEST_DB_URL!,
    logFile: join(work, 'app.log'),
    env: { WEB_CONCURRENCY: '2', RATE_LIMIT_MAX: '1000000' },
  });
  nginx = await privateNginx(`127.0.0.1:${app.port}`, {
    extraEnv: { SHIPSHAPE_MAINTENANCE_DIR: maintenanceDir, SHIPSHAPE_MAINTENANCE_RETRY_AFTER: RETRY_AFTER },
  });
  ca = nginx.cert;
  expect(maintenance('init').status).toBe(0);
  writeFileSync(join(maintenanceDir, 'allow.map'), `"${OPERATOR_ADDRESS}" 1;\n`);
  await nginx.start();
  await waitFor('the app behind nginx', async () => {
    const res = await send(url('/health/ready'), { ca });
    return res.status === 200 || undefined;
  });
  const email = `maint-${Date.now()}@example.test`;
  const password = 'a-long-enough-password-for-this-test';
  const body = JSON.stringify({ email, password });
  const json = { 'content-type': 'application/json' };
  expect((await send(url('/api/v1/auth/register'), { ca, method: 'POST', headers: json, body })).status).toBe(
    201,
  );
  const login = await send(url('/api/v1/auth/login'), { ca, method: 'POST', headers: json, body });
  token = JSON.parse(login.text).token;
});

afterAll(async () => {
  maintenanceDir && maintenance('off');
  await nginx?.stop();
  await app?.stop();
});

describe('OPS-13: maintenance mode', () => {
  test('OPS-13: when nginx -t checks the site with maintenance files present, then it passes', () => {
    const result = nginx.test();
    expect(result.output).toContain('test is successful');
    expect(result.status).toBe(0);
  });

  test('OPS-13: when it is switched on, then the API answers 503 problem+json with Retry-After, probes and operators pass, and no process restarted', async () => {
    const before = allPids();
    expect((await api('/api/v1/notes')).status).toBe(200);

    const on = maintenance('on', '--message', 'Upgrading the "notes" store <b>now</b>; back at 10:00 UTC.');
    expect(on.status).toBe(0);
    expect(maintenance('status').stdout).toMatch(/^on\n/);

    for (const [method, path] of [
      ['GET', '/api/v1/notes'],
      ['POST', '/api/v1/notes'],
      ['DELETE', '/api/v1/notes/0190a000-0000-7000-8000-000000000000'],
      ['GET', '/api/v1/openapi.json'],
      ['POST', '/api/v1/auth/login'],
    ] as const) {
      const res = await send(url(path), {
        ca,
        method,
        localAddress: CLIENT_ADDRESS,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: method === 'GET' ? undefined : '{}',
      });
      expect({ method, path, status: res.status }).toEqual({ method, path, status: 503 });
      expect(res.headers['content-type']).toBe('application/problem+json');
      expect(res.headers['retry-after']).toBe(RETRY_AFTER);
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.headers['strict-transport-security']).toMatch(/max-age=/);
      const problem = JSON.parse(res.text);
      expect(problem).toEqual({
        type: '/problems/maintenance',
        title: PROBLEM_TYPES.maintenance.title,
        status: PROBLEM_TYPES.maintenance.status,
        detail: 'Upgrading the "notes" store <b>now</b>; back at 10:00 UTC.',
        requestId: res.headers['x-request-id'],
      });
      expect(problem.requestId).toMatch(/^[0-9a-f]{32}$/);
    }
    // A client's own request id is echoed, URL-encoded, so it can never break the JSON.
    const odd = await api('/api/v1/notes', CLIENT_ADDRESS, { 'x-request-id': 'a"b<c' });
    expect(JSON.parse(odd.text).requestId).toBe('a%22b%3Cc');

    for (const probe of ['/health', '/health/live', '/health/ready', '/health/startup', '/readyz']) {
      const res = await send(url(probe), { ca, localAddress: CLIENT_ADDRESS });
      expect({ probe, status: res.status }).toEqual({ probe, status: 200 });
    }
    // Operators: by the generated header from anywhere, or from an allow-listed address.
    const secret = maintenance('token').stdout.trim();
    expect(secret).toMatch(/^[A-Za-z0-9]{32,}$/);
    const byHeader = await api('/api/v1/notes', CLIENT_ADDRESS, { 'x-maintenance-bypass': secret });
    expect(byHeader.status).toBe(200);
    expect(JSON.parse(byHeader.text).items).toEqual([]);
    expect((await api('/api/v1/notes', OPERATOR_ADDRESS)).status).toBe(200);
    const wrongSecret = await api('/api/v1/notes', CLIENT_ADDRESS, { 'x-maintenance-bypass': `${secret}x` });
    expect(wrongSecret.status).toBe(503);
    expect((await api('/api/v1/notes', CLIENT_ADDRESS, { 'x-maintenance-bypass': '' })).status).toBe(503);

    expect(allPids()).toEqual(before);
  });

  test('OPS-13: when it is switched off, then the API answers again from the same processes', async () => {
    const before = allPids();
    maintenance('on');
    expect((await api('/api/v1/notes')).status).toBe(503);
    expect(maintenance('off').status).toBe(0);
    expect(maintenance('status').stdout).toBe('off\n');
    const res = await api('/api/v1/notes');
    expect(res.status).toBe(200);
    expect(res.headers['retry-after']).toBeUndefined();
    expect(allPids()).toEqual(before);
  });

  test('when the message is not one line of text, then on refuses it with 64 and nothing changes', () => {
    const result = maintenance('on', '--message', 'two\nlines');
    expect(result.status).toBe(64);
    expect(result.stderr).toContain('--message must be one line of text');
    expect(maintenance('status').stdout).toBe('off\n');
    expect(maintenance('sideways').status).toBe(64);
  });

  test('OPS-13: when it is switched on and off under steady load, then no request fails but the intended 503s', async () => {
    const pids = allPids();
    const clients = 8;
    const results: { status: number; type?: string; sentAt: number; doneAt: number }[] = [];
    const errors: string[] = [];
    let stop = false;
    // Each client its own address and keep-alive connection, paced under nginx's 20 r/s per address.
    const loops = Array.from({ length: clients }, async (_, i) => {
      const agent = new Agent({ keepAlive: true, maxSockets: 1, ca, localAddress: `127.0.0.${20 + i}` });
      while (!stop) {
        const sentAt = performance.now();
        try {
          const res = await new Promise<{ status: number; text: string }>((resolve, reject) => {
            const req = httpsRequest(
              url('/api/v1/notes'),
              { agent, headers: { authorization: `Bearer ${token}` } },
              (response) => {
                let text = '';
                response.on('data', (chunk) => {
                  text += chunk;
                });
                response.on('end', () => resolve({ status: response.statusCode ?? 0, text }));
                response.on('error', reject);
              },
            );
            req.on('error', reject);
            req.end();
          });
          const type = res.status === 503 ? JSON.parse(res.text).type : undefined;
          results.push({ status: res.status, type, sentAt, doneAt: performance.now() });
        } catch (error) {
          errors.push(String(error));
        }
        await sleep(70);
      }
      agent.destroy();
    });
    await sleep(1500);
    const onAt = performance.now();
    expect(maintenance('on').status).toBe(0);
    const onDone = performance.now();
    await sleep(1500);
    const offAt = performance.now();
    expect(maintenance('off').status).toBe(0);
    const offDone = performance.now();
    await sleep(1500);
    stop = true;
    await Promise.all(loops);

    const unexpected = results.filter(
      (r) => !(r.status === 200 || (r.status === 503 && r.type === '/problems/maintenance')),
    );
    expect(errors).toEqual([]);
    expect(unexpected).toEqual([]);
    // Sent after `on` returned and answered before `off` began: maintenance; wholly outside the window: the app.
    const inside = results.filter((r) => r.sentAt > onDone && r.doneAt < offAt);
    const before = results.filter((r) => r.doneAt < onAt);
    const after = results.filter((r) => r.sentAt > offDone);
    expect([before.length > 0, inside.length > 0, after.length > 0]).toEqual([true, true, true]);
    expect(inside.every((r) => r.status === 503)).toBe(true);
    expect([...before, ...after].every((r) => r.status === 200)).toBe(true);
    expect(allPids()).toEqual(pids);
    reportFigure(
      `[maintenance] under load (${clients} keep-alive clients): ${results.length} requests, ${results.filter((r) => r.status === 503).length} intended 503, ${results.filter((r) => r.status === 200).length} 200, ${errors.length} failed; on took ${(onDone - onAt).toFixed(0)} ms, off ${(offDone - offAt).toFixed(0)} ms`,
    );
  });
});
