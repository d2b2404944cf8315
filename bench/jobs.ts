/**
 * usage: BENCH_DATABASE_URL=postgres://... npx tsx bench/jobs.ts [jobs]
 *
 * Background job throughput on a PostgreSQL server (a throw-away database: pg-boss creates its schema there):
 * how fast jobs are enqueued one by one (what a request pays), then how fast one process with the app's job
 * settings works a backlog of no-op jobs (what the queue itself costs per job). Prints figures, asserts none.
 */
import { randomUUID } from 'node:crypto';
import { startJobQueue } from '../src/jobs/queue.js';
import { createLogger } from '../src/observability/logger.js';

async function main(): Promise<void> {
  const url = process.env.BENCH_DATABASE_URL;
  if (!url) throw new Error('BENCH_DATABASE_URL must name a PostgreSQL database the bench may write to');
  const count = Number(process.argv[2] ?? 500);
  const name = `bench-${randomUUID().slice(0, 8)}`;
  let done = 0;
  let finished: () => void = () => {};
  const allDone = new Promise<void>((resolve) => {
    finished = resolve;
  });
  const settings = {
    pollIntervalMs: 500,
    retryLimit: 0,
    retryDelaySeconds: 1,
    expireSeconds: 900,
    batchSize: 10,
  };
  const logger = createLogger({ level: 'silent', pretty: false });
  const producer = await startJobQueue({
    url,
    types: [{ name, handle: async () => {} }],
    settings,
    logger,
    work: false,
  });

  const enqueueStarted = performance.now();
  for (let i = 0; i < count; i++) await producer.enqueue(name, { i });
  const enqueueSeconds = (performance.now() - enqueueStarted) / 1000;

  const workStarted = performance.now();
  const worker = await startJobQueue({
    url,
    types: [
      {
        name,
        handle: async () => {
          done += 1;
          if (done === count) finished();
        },
      },
    ],
    settings,
    logger,
    work: true,
  });
  await allDone;
  const workSeconds = (performance.now() - workStarted) / 1000;
  await Promise.all([worker.stop(1_000), producer.stop(1_000)]);

  process.stdout.write(`jobs: ${count} on ${new URL(url).host}\n`);
  process.stdout.write(
    `enqueue, one at a time: ${(count / enqueueSeconds).toFixed(0)} jobs/s (${((enqueueSeconds / count) * 1000).toFixed(2)} ms each)\n`,
  );
  process.stdout.write(
    `worked by one process (batches of 10, its start included): ${(count / workSeconds).toFixed(0)} jobs/s\n`,
  );
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
