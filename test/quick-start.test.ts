import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './support/net.js';
import { waitFor } from './support/waiting.js';

/**
 * The README's quick start, as a newcomer runs it: `npm run dev` with no .env, no DATABASE_URL and no
 * PostgreSQL serves the API on the embedded database, migrated, and the data outlives a restart.
 */

const dataDir = mkdtempSync(join(tmpdir(), 'shipshape-quick-start-'));
let port: number;
let server: ChildProcess | undefined;

function startDevServer(): ChildProcess {
  // Only what a fresh shell has: nothing from the test run (no TEST_DATABASE_URL or DATABASE_URL) leaks in.
  const child = spawn('npm', ['run', 'dev'], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, PORT: String(port), EMBEDDED_DB_DIR: dataDir },
    stdio: 'ignore',
    detached: true, // its own process group: npm, tsx watch and the app stop together
  });
  return child;
}

function stop(child: ChildProcess): Promise<void> {
  return new Promise((done) => {
    if (child.exitCode !== null || child.signalCode !== null) return done();
    child.once('exit', () => done());
    process.kill(-child.pid!, 'SIGTERM');
  });
}

const api = (path: string, init: RequestInit = {}) =>
  fetch(`http://127.0.0.1:${port}${path}`, {
    ...init,
    headers: { 'content-type': 'application/json', ...init.headers },
  });

async function whenReady(): Promise<void> {
  await waitFor(
    'the dev server to be ready',
    async () => ((await api('/health/ready')).status === 200 ? true : undefined),
    { timeoutMs: 90_000 },
  );
}

async function login(email: string): Promise<string> {
  const response = await api('/api/v1/auth/login', {
    method: 'POST',
    body: JSON.stringify({ email, password: 'a long passphrase for the quick start' }),
  });
  expect(response.status).toBe(200);
  return ((await response.json()) as { token: string }).token;
}

beforeAll(async () => {
  port = await freePort();
});

afterAll(async () => {
  if (server) await stop(server);
  rmSync(dataDir, { recursive: true, force: true });
});

test('OPS-10: when npm run dev starts on a fresh machine, then the API works on the embedded database and keeps its data across a restart', async () => {
  server = startDevServer();
  await whenReady();

  const email = 'newcomer@example.test';
  const registered = await api('/api/v1/auth/register', {
    method: 'POST',
    body: JSON.stringify({ email, password: 'a long passphrase for the quick start' }),
  });
  expect(registered.status).toBe(201);
  const token = await login(email);
  const created = await api('/api/v1/notes', {
    method: 'POST',
    headers: { authorization: `Bearer ${token}` },
    body: JSON.stringify({ title: 'kept in .data/' }),
  });
  expect(created.status).toBe(201);

  await stop(server);
  server = startDevServer();
  await whenReady();

  const listed = await api('/api/v1/notes', { headers: { authorization: `Bearer ${await login(email)}` } });
  expect(listed.status).toBe(200);
  const { items } = (await listed.json()) as { items: { title: string }[] };
  expect(items.map((note) => note.title)).toEqual(['kept in .data/']);
}, 240_000);
