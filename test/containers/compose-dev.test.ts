import { randomBytes } from 'node:crypto';
import { freePort } from '../support/net';
import { reportFigure } from '../support/report';
import { leftovers, MINUTE, run, sh, startComposeEnv, stopComposeEnv, waitFor } from './support';

/** compose.yaml, the development stack: `docker compose up` gives the app with reload on a real PostgreSQL. */
const PROJECT = 'shipshape-dev';
let env: NodeJS.ProcessEnv = process.env;
let port = 0;
let secondsToHealthy = 0;

const compose = (...args: string[]) =>
  run('docker-compose', ['-p', PROJECT, '-f', 'compose.yaml', ...args], { env });

async function get(path: string) {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(5000) });
  return { status: res.status, body: await res.text() };
}

beforeAll(async () => {
  // compose.yaml's image, built from the Dockerfile's development target (docker compose up builds it the same way).
  await sh('podman', [
    'build',
    '--format',
    'docker',
    '--target',
    'development',
    '-t',
    'localhost/shipshape:dev',
    '.',
  ]);
  port = await freePort();
  env = { ...(await startComposeEnv()), APP_PORT: String(port) };
  await compose('down', '-v', '--remove-orphans');
  const started = Date.now();
  const up = await compose('up', '-d');
  if (up.code !== 0) throw new Error(`docker-compose up failed:\n${up.stdout}\n${up.stderr}`);
  await waitFor('the development app on localhost', 5 * MINUTE, async () =>
    (await get('/health')).status === 200 ? true : undefined,
  );
  secondsToHealthy = (Date.now() - started) / 1000;
}, 20 * MINUTE);

afterAll(async () => {
  await compose('down', '-v', '--remove-orphans');
  await stopComposeEnv();
  reportFigure(
    `[containers] compose.yaml up -> app answering on localhost: ${secondsToHealthy.toFixed(1)} s`,
  );
}, 5 * MINUTE);

describe('compose.yaml', () => {
  test('when it comes up, then the app answers on localhost with PostgreSQL behind it and migrations applied', async () => {
    const health = await get('/health');
    expect(JSON.parse(health.body)).toMatchObject({
      status: 'healthy',
      checks: { database: { status: 'up' } },
    });
    expect((await get('/health/ready')).status).toBe(200);

    const email = `dev-${randomBytes(4).toString('hex')}@example.test`;
    const res = await fetch(`http://127.0.0.1:${port}/api/v1/auth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, password: randomBytes(18).toString('base64url') }),
    });
    expect(res.status).toBe(201);
  });

  test('when it is taken down with -v, then its containers and database volume are gone', async () => {
    expect((await compose('down', '-v', '--remove-orphans')).code).toBe(0);
    const left = await leftovers(PROJECT);
    expect(left.containers).toEqual([]);
    expect(left.volumes).not.toContain(`${PROJECT}_pgdata-dev`);
  });
});
