import { spawn } from 'node:child_process';
import { Client } from 'pg';
import { REPO } from '../support/processes';
import { eventually, sleep } from '../support/waiting';
import type { AppProcess } from './support/app';
import { send, signUp } from './support/client';
import { type Envelope, type Receiver, sentryReceiver } from './support/receivers';
import { useFaultRig } from './support/rig';

jest.setTimeout(60_000);

const rig = useFaultRig();
let sentry: Receiver<Envelope>;
let app: AppProcess;

const events = () =>
  sentry.received.flatMap((envelope) => envelope.items.filter((item) => item.type === 'event'));

beforeAll(async () => {
  sentry = await sentryReceiver();
  app = await rig.start({
    WEB_CONCURRENCY: '1',
    SENTRY_DSN: `${sentry.url.replace('//', '//publickey@')}/1`,
    SENTRY_RELEASE: 'shipshape@fault-suite',
  });
  await app.waitForLog((l) => l.msg === 'ready to serve');
});
afterAll(async () => {
  await sentry.close();
});

/** A real bug in production terms: the code expects a column the database no longer has (a bad migration). */
async function withBrokenNotesTable<T>(run: () => Promise<T>): Promise<T> {
  const admin = new Client({ connectionString: rig.pg.url });
  await admin.connect();
  await admin.query('alter table notes rename column title to title_renamed');
  try {
    return await run();
  } finally {
    await admin.query('alter table notes rename column title_renamed to title');
    await admin.end();
  }
}

describe('OBS-4: error tracking', () => {
  test('OBS-2: when a request hits an unexpected error, then Sentry receives it with environment, release and request id, and without credentials', async () => {
    const token = await signUp(app.url);
    const reply = await withBrokenNotesTable(() =>
      send(`${app.url}/api/v1/notes`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${token}`,
          cookie: 'session=cookie-secret-value; csrf=csrf-secret-value',
          'content-type': 'application/json',
        },
        body: JSON.stringify({ title: 'will fail' }),
      }),
    );
    expect(reply.status).toBe(500);
    const requestId = reply.headers['x-request-id'];

    const [event] = await eventually(async () => {
      const found = events();
      if (found.length === 0) throw new Error('no event yet');
      return found;
    });
    const payload = event!.payload as {
      environment: string;
      release: string;
      tags: Record<string, string>;
      user?: { id?: string };
      exception: { values: { value: string }[] };
    };
    expect(payload.environment).toBe('production');
    expect(payload.release).toBe('shipshape@fault-suite');
    expect(payload.tags.request_id).toBe(requestId);
    expect(payload.user?.id).toEqual(expect.any(String));
    expect(payload.exception.values.at(-1)!.value).toMatch(/title/);
    const raw = sentry.received.map((e) => e.raw).join('\n');
    expect(raw).not.toContain(token);
    expect(raw).not.toContain('cookie-secret-value');
    expect(raw).not.toContain('csrf-secret-value');
    expect(raw.toLowerCase()).not.toContain('bearer ');
  });

  test('when requests fail with 4xx, then nothing is sent to Sentry', async () => {
    const before = events().length;
    const bad = await send(`${app.url}/api/v1/notes`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{not json',
    });
    const missing = await send(`${app.url}/no/such/page`);
    expect([bad.status, missing.status]).toEqual([400, 404]);
    await sleep(2_000);
    expect(events().length).toBe(before);
  });

  test('when a process hits an uncaught exception, then it logs the stack, reports it to Sentry and exits 1', async () => {
    const before = events().length;
    const script = `
      const { createLogger } = require('./dist/observability/logger.js');
      const { exitOnFatalErrors } = require('./dist/process/fatal-errors.js');
      exitOnFatalErrors(createLogger({ level: 'info', pretty: false }));
      setTimeout(() => { throw new Error('state nobody planned for'); }, 10);
      setInterval(() => {}, 1000);
    `;
    const child = spawn(process.execPath, ['--import', './dist/instrument.js', '-e', script], {
      cwd: REPO,
      env: {
        PATH: process.env.PATH,
        APP_ENV: 'testing',
        SENTRY_DSN: `${sentry.url.replace('//', '//publickey@')}/1`,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    const code = await new Promise((resolve) => child.once('exit', resolve));
    expect(code).toBe(1);
    const fatal = JSON.parse(output.split('\n').find((line) => line.includes('"fatal"')) ?? '{}');
    expect(fatal.err.stack).toMatch(/state nobody planned for\n\s+at /);
    const reported = events().slice(before);
    expect(reported.map((e) => (e.payload as { level: string }).level)).toEqual(['fatal']);
  });
});
