import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { Registry } from 'prom-client';
import { SMTPServer } from 'smtp-server';
import { loadConfig } from '../src/config';
import { createDatabase } from '../src/db/knex';
import { PURGE_EXPIRED_SESSIONS, SEND_MAIL, sendMailJob } from '../src/jobs/job-types';
import { deadLetterQueue, type JobQueue, startJobQueue } from '../src/jobs/queue';
import { startJobs } from '../src/jobs/start';
import { outboxMailer } from '../src/mail/mailer';
import { createLogger } from '../src/observability/logger';
import { testDatabaseUrl } from './support/harness';
import { createServerDatabase } from './support/isolated-database';
import { freePort } from './support/net';
import { REPO, stopChild, TSX_CLI } from './support/processes';
import { reportFigure } from './support/report';
import { eventually, sleep, waitFor } from './support/waiting';

/**
 * Background jobs through real processes: worker processes started as `npm run dev` starts one (tsx, the
 * run's database), a real SMTP server they deliver to, real SIGTERM. The test only enqueues, as the app would,
 * and watches the SMTP server, the job table and the workers' metrics.
 */

jest.setTimeout(180_000);

interface Delivery {
  to: string;
  messageId: string;
}

/** A real SMTP server whose answers depend on the recipient: rejected@ 550, busy@ 451, slow-Nms@ waits N ms. */
class TestSmtp {
  deliveries: Delivery[] = [];
  attempts = new Map<string, number>();
  private server?: SMTPServer;
  constructor(readonly port: number) {}

  async start(): Promise<void> {
    this.server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      onRcptTo: (address, _session, callback) => {
        const to = address.address;
        this.attempts.set(to, (this.attempts.get(to) ?? 0) + 1);
        if (to.startsWith('rejected'))
          return callback(Object.assign(new Error('no such user'), { responseCode: 550 }));
        if (to.startsWith('busy'))
          return callback(Object.assign(new Error('try later'), { responseCode: 451 }));
        const slow = /^slow-(\d+)ms/.exec(to);
        setTimeout(() => callback(), slow ? Number(slow[1]) : 0);
      },
      onData: (stream, session, callback) => {
        let raw = '';
        stream.on('data', (chunk) => {
          raw += chunk;
        });
        stream.on('end', () => {
          const messageId = /^Message-ID: (.*)$/im.exec(raw)?.[1]?.trim() ?? '';
          for (const rcpt of session.envelope.rcptTo) this.deliveries.push({ to: rcpt.address, messageId });
          callback();
        });
      },
    });
    await new Promise<void>((resolve) => this.server!.listen(this.port, '127.0.0.1', resolve));
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.server = undefined;
  }

  deliveredTo = (to: string) => this.deliveries.filter((d) => d.to === to);
}

interface Worker {
  child: ChildProcess;
  output: () => string;
  metricsPort: number;
}

const url = testDatabaseUrl();
const db = createDatabase({ url, poolMin: 0, poolMax: 2 });
let smtp: TestSmtp;
let producer: JobQueue;
const workers: Worker[] = [];

async function startWorker(env: Record<string, string> = {}): Promise<Worker> {
  const [port, metricsPort] = [await freePort(), await freePort()];
  const child = spawn(process.execPath, [TSX_CLI, 'src/main.ts'], {
    cwd: REPO,
    env: {
      PATH: process.env.PATH,
      APP_ENV: 'testing',
      LOG_LEVEL: 'info',
      DATABASE_URL: url,
      DATABASE_PREPARED_STATEMENTS: 'false',
      WEB_CONCURRENCY: '1',
      PORT: String(port),
      METRICS_PORT: String(metricsPort),
      MAIL_SMTP_URL: `smtp://127.0.0.1:${smtp.port}`,
      JOBS_POLL_INTERVAL_MS: '500',
      JOBS_RETRY_LIMIT: '2',
      JOBS_RETRY_DELAY_SECONDS: '1',
      JOBS_PURGE_SESSIONS_CRON: '* * * * *',
      SHUTDOWN_TIMEOUT_MS: '3000',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk) => {
    output += chunk;
  });
  child.stderr!.on('data', (chunk) => {
    output += chunk;
  });
  const worker = { child, output: () => output, metricsPort };
  workers.push(worker);
  await waitFor(
    'a worker to start',
    async () => {
      if (child.exitCode !== null) throw new Error(`exited ${child.exitCode}: ${output}`);
      return output.includes('ready to serve') ? true : undefined;
    },
    { timeoutMs: 60_000 },
  );
  return worker;
}

/** The sum over live workers of a metric sample's value, read from their metrics listeners. */
async function metric(line: RegExp): Promise<number> {
  let total = 0;
  for (const worker of workers.filter((w) => w.child.exitCode === null && w.child.signalCode === null)) {
    const text = await fetch(`http://127.0.0.1:${worker.metricsPort}/metrics`).then((r) => r.text());
    for (const sample of text.split('\n').filter((l) => line.test(l)))
      total += Number(sample.split(' ').pop());
  }
  return total;
}

const mail = (to: string) => ({ to, subject: 'Welcome', text: 'Hello from a test' });
const jobState = async (id: string) =>
  (await db('pgboss.job').where({ id }).first('state', 'retry_count'))?.state as string | undefined;

beforeAll(async () => {
  smtp = new TestSmtp(await freePort());
  await smtp.start();
  producer = await startJobQueue({
    url,
    types: [{ name: SEND_MAIL, handle: async () => {} }],
    settings: { pollIntervalMs: 500, retryLimit: 2, retryDelaySeconds: 1, expireSeconds: 900, batchSize: 10 },
    logger: createLogger({ level: 'silent', pretty: false }),
    work: false,
  });
  await startWorker();
  await startWorker();
});

afterAll(async () => {
  await Promise.all(workers.map((worker) => stopChild(worker.child)));
  await producer?.stop(1_000);
  await smtp?.stop();
  await db.destroy();
});

describe('SRV-7: background jobs and mail through worker processes', () => {
  test('SRV-7: when a mail is enqueued, then a worker delivers it over SMTP once, with the job key as Message-ID', async () => {
    const to = `welcome-${randomUUID()}@example.test`;
    const key = `welcome:${randomUUID()}`;
    const started = Date.now();
    const id = await producer.enqueue(SEND_MAIL, mail(to), { key });
    expect(await producer.enqueue(SEND_MAIL, mail(to), { key })).toBeNull();
    await waitFor('the mail to arrive', async () => (smtp.deliveredTo(to).length > 0 ? true : undefined));
    reportFigure(`mail round trip (enqueue to SMTP server accepted): ${Date.now() - started} ms`);
    await eventually(async () => expect(await jobState(id!)).toBe('completed'));
    expect(smtp.deliveredTo(to)).toEqual([{ to, messageId: `<${key}@shipshape.jobs>` }]);
    expect(await metric(/^shipshape_jobs_completed_total\{type="mail-send"\}/)).toBeGreaterThanOrEqual(1);
  });

  test('SRV-7: when the SMTP server is down, then the job fails, is retried with backoff and delivered when it is back', async () => {
    const to = `retry-${randomUUID()}@example.test`;
    const failedBefore = await metric(/^shipshape_jobs_failed_total\{type="mail-send",outcome="retry"\}/);
    await smtp.stop();
    const id = (await producer.enqueue(SEND_MAIL, mail(to)))!;
    await eventually(async () => expect(await jobState(id)).toBe('retry'), { timeoutMs: 20_000 });
    await eventually(async () =>
      expect(
        await metric(/^shipshape_jobs_failed_total\{type="mail-send",outcome="retry"\}/),
      ).toBeGreaterThan(failedBefore),
    );
    expect(await metric(/^shipshape_jobs_queue_depth\{type="mail-send"\}/)).toBeGreaterThanOrEqual(1);
    expect(await metric(/^shipshape_jobs_oldest_age_seconds\{type="mail-send"\}/)).toBeGreaterThan(0);
    await smtp.start();
    await eventually(async () => expect(await jobState(id)).toBe('completed'), { timeoutMs: 30_000 });
    expect(smtp.deliveredTo(to)).toHaveLength(1);
  });

  test('SRV-7: when the relay keeps answering try-later, then the job is dead-lettered after its last attempt', async () => {
    const to = `busy-${randomUUID()}@example.test`;
    const id = (await producer.enqueue(SEND_MAIL, mail(to)))!;
    await eventually(async () => expect(await jobState(id)).toBe('failed'), { timeoutMs: 40_000 });
    expect(smtp.attempts.get(to)).toBe(3); // the first attempt and JOBS_RETRY_LIMIT=2 retries
    const dead = await db('pgboss.job')
      .where({ name: deadLetterQueue(SEND_MAIL) })
      .whereRaw("data->>'to' = ?", [to]);
    expect(dead).toHaveLength(1);
    expect(smtp.deliveredTo(to)).toEqual([]);
  });

  test('SRV-7: when the recipient is rejected, then the job is dead-lettered at once with no retry storm and counted', async () => {
    const to = `rejected-${randomUUID()}@example.test`;
    const deadBefore = await metric(/^shipshape_jobs_failed_total\{type="mail-send",outcome="dead"\}/);
    const id = (await producer.enqueue(SEND_MAIL, mail(to)))!;
    await eventually(async () => expect(await jobState(id)).toBe('completed'));
    await eventually(async () =>
      expect(
        await db('pgboss.job')
          .where({ name: deadLetterQueue(SEND_MAIL) })
          .whereRaw("data->>'to' = ?", [to]),
      ).toHaveLength(1),
    );
    await sleep(3_000);
    expect(smtp.attempts.get(to)).toBe(1);
    expect(await metric(/^shipshape_jobs_failed_total\{type="mail-send",outcome="dead"\}/)).toBe(
      deadBefore + 1,
    );
  });

  test('SRV-7: when two worker processes run the schedule, then each cron tick runs the job once', async () => {
    const firstRun = await waitFor(
      'a scheduled purge to complete',
      async () =>
        (await db('pgboss.job').where({ name: PURGE_EXPIRED_SESSIONS, state: 'completed' }).first('id')) ??
        undefined,
      { timeoutMs: 130_000, intervalMs: 1_000 },
    );
    expect(firstRun).toBeDefined();
    const perMinute = await db('pgboss.job')
      .where({ name: PURGE_EXPIRED_SESSIONS })
      .select(db.raw("date_trunc('minute', created_on) as minute"))
      .count('* as jobs')
      .groupByRaw("date_trunc('minute', created_on)");
    expect(perMinute.length).toBeGreaterThan(0);
    for (const row of perMinute) expect(Number(row.jobs)).toBe(1);
  });

  test('SRV-7: when SIGTERM arrives during a job, then the job finishes before the worker exits, and is delivered once', async () => {
    const to = `slow-1500ms-${randomUUID()}@example.test`;
    const id = (await producer.enqueue(SEND_MAIL, mail(to)))!;
    const holder = await waitFor('a worker to start the job', async () =>
      workers.find((w) => w.child.exitCode === null && w.output().includes(id)),
    );
    const exited = stopChild(holder.child);
    expect(await exited).toBe(0);
    expect(await jobState(id)).toBe('completed');
    expect(smtp.deliveredTo(to)).toHaveLength(1);
  });

  test('SRV-7: when SIGTERM arrives and the job outlives the drain deadline, then it is retried by another worker and completed once', async () => {
    await startWorker();
    const to = `slow-6000ms-${randomUUID()}@example.test`;
    const id = (await producer.enqueue(SEND_MAIL, mail(to)))!;
    const holder = await waitFor('a worker to start the job', async () =>
      workers.find((w) => w.child.exitCode === null && w.output().includes(`"jobId":"${id}"`)),
    );
    await stopChild(holder.child);
    expect(await jobState(id)).toBe('retry');
    await eventually(async () => expect(await jobState(id)).toBe('completed'), { timeoutMs: 30_000 });
    await sleep(7_000); // the first worker's abandoned SMTP session would have finished by now
    expect(smtp.deliveredTo(to)).toHaveLength(1);
  });
});

describe('the development outbox', () => {
  test('when no SMTP relay is set, then each mail becomes an .eml file in the outbox and the log names its path', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'shipshape-outbox-'));
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const logger = createLogger({ level: 'info', pretty: false, destination: sink });
    try {
      const job = sendMailJob(outboxMailer(join(dir, 'outbox'), 'shipshape <no-reply@localhost>', logger));
      await job.handle(mail('reader@example.test'), { id: randomUUID(), key: 'welcome:42', attempt: 1 });
      const logged = lines
        .map((line) => JSON.parse(line))
        .find((line) => line.msg === 'mail written to the outbox');
      expect(logged?.path).toContain(join(dir, 'outbox'));
      const eml = readFileSync(logged.path, 'utf8');
      expect(eml).toMatch(/^To: reader@example.test$/m);
      expect(eml).toMatch(/^Subject: Welcome$/m);
      expect(eml).toMatch(/^Message-ID: <welcome:42@shipshape.jobs>$/m);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('starting the job queue', () => {
  test('SRV-7: when six serving processes start their job queues at once on a fresh database, then every one starts', async () => {
    // Every worker of a first deployment installs pg-boss's schema and queues at the same moment.
    const serverUrl = process.env.TEST_DATABASE_URL;
    const fresh = serverUrl ? await createServerDatabase(serverUrl, 'jobs') : undefined;
    const target = fresh?.url ?? url;
    const targetDb = createDatabase({ url: target, poolMin: 0, poolMax: 2 });
    const config = loadConfig({
      APP_ENV: 'testing',
      MAIL_OUTBOX_DIR: join(tmpdir(), 'shipshape-jobs-outbox'),
    });
    const logger = createLogger({ level: 'silent', pretty: false });
    const started = await Promise.allSettled(
      Array.from({ length: 6 }, () => startJobs(config, target, targetDb, new Registry(), logger)),
    );
    try {
      expect(
        started.map((result) => (result.status === 'rejected' ? String(result.reason) : 'started')),
      ).toEqual(Array(6).fill('started'));
      const queues = await targetDb('pgboss.queue').whereIn('name', [SEND_MAIL, deadLetterQueue(SEND_MAIL)]);
      expect(queues).toHaveLength(2);
    } finally {
      await Promise.all(started.map((result) => result.status === 'fulfilled' && result.value.stop(1_000)));
      await targetDb.destroy();
      await fresh?.drop();
    }
  });
});
