/**
 * usage: npm run bench [-- --quick]
 *
 * Raw node:http, bare Express 5 and shipshape in production mode, each restarted for every sample, pinned to
 * its own core and driven from the other; rounds interleaved, medians reported, samples taken while another
 * process used the CPU thrown away (and the figure refused when no clean sample is left).
 *
 * Settings (environment): BENCH_SECONDS (10), BENCH_CONNECTIONS (50), BENCH_ROUNDS (3),
 * BENCH_WARMUP_SECONDS (3), BENCH_DATABASE_URL (PostgreSQL to use; else the embedded one),
 * BENCH_MAX_FOREIGN_CPU (0.15 cores), BENCH_RATE_LIMIT_MAX (computed), BENCH_LOADGEN (wrk|autocannon),
 * BENCH_CASES (comma-separated case ids, default all), BENCH_NODE (a node binary to run the servers with, e.g.
 * the Node 24 the Dockerfile ships; default the node on PATH), BENCH_BASELINE (a folder holding another build of
 * shipshape, dist/ and migrations/ and node_modules/: its cases run interleaved with this checkout's, for a
 * before/after measured in one run), BENCH_BASELINE_ENV (`NAME=value ...`: settings for the baseline's servers
 * only, e.g. `DATABASE_POOL_MAX=4` to weigh a setting against its default).
 * --quick: one short round at 10 connections that only proves the bench works (CI); it never refuses.
 *
 * The cases are in cases.ts, one sample's measurement in sampling.ts, the summary, table and targets in report.ts.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { allCases, type Case, parseBaselineEnv, selectCases } from './cases.js';
import { chooseLoadGenerator } from './load.js';
import { fmt, summarize, summaryJson, table, targets } from './report.js';
import { measure, type Sample, type SamplingContext } from './sampling.js';
import { type Fixture, openBenchDatabase, seed, serverNodeVersion, startServer } from './servers.js';
import { readSettings } from './settings.js';
import { coreCount, cpuModel, detectPinning } from './system.js';

const settings = readSettings();
const baseline = process.env.BENCH_BASELINE;
// Settings for a baseline that does not run would measure the default alone and read like a comparison.
if (process.env.BENCH_BASELINE_ENV && !baseline) throw new Error('BENCH_BASELINE_ENV needs BENCH_BASELINE');
const say = (line = '') => process.stdout.write(`${line}\n`);

/** Rounds interleaved: each visits every case, starting one further along, so drift spreads over all. */
async function sampleAll(cases: Case[], context: SamplingContext) {
  const samples: Sample[] = [];
  let clusterWorks = true;
  let remaining = cases;
  for (let round = 1; round <= settings.rounds; round++) {
    const order = remaining.map((_, i) => remaining[(i + round - 1) % remaining.length]!);
    for (const c of order) {
      if (c.workers > 1 && !clusterWorks) continue;
      for (let attempt = 1; attempt <= 1 + settings.retries; attempt++) {
        const sample = await measure(c, round, attempt, context);
        samples.push(sample);
        if (c.workers > 1 && sample.processes < 2) {
          clusterWorks = false;
          remaining = remaining.filter((x) => x.workers === 1);
        }
        process.stderr.write(
          `  round ${round} ${c.id.padEnd(10)} ${fmt(sample.requestsPerSecond).padStart(7)} req/s  p99 ${sample.p99Ms.toFixed(1)} ms  other processes ${sample.foreignCores.toFixed(2)} cores${sample.clean ? '' : ` NOISY ${sample.hogs.join(', ')}`}\n`,
        );
        if (sample.clean) break;
      }
    }
  }
  return { samples, clusterWorks };
}

async function main() {
  const pinning = detectPinning();
  if (pinning.available) pinning.move(process.pid, '0');
  const load = chooseLoadGenerator(pinning);
  const cases = selectCases(
    allCases(baseline, parseBaselineEnv(process.env.BENCH_BASELINE_ENV)),
    process.env.BENCH_CASES?.split(',').map((s) => s.trim()),
  );
  const logDir = mkdtempSync(join(tmpdir(), 'shipshape-bench-'));
  const db = await openBenchDatabase(process.env.BENCH_DATABASE_URL);

  say(
    `shipshape bench${settings.quick ? ' --quick (proves the bench works; its figures mean nothing)' : ''}`,
  );
  say(
    `  servers on node ${serverNodeVersion()}${process.env.BENCH_NODE ? ` (BENCH_NODE)` : ''}, on ${cpuModel()}, ${coreCount()} cores; ${pinning.describe}`,
  );
  say(
    `  load: ${load.name}, ${settings.connections} connections, ${settings.warmupSeconds} s warm-up + ${settings.seconds} s, ${settings.rounds} interleaved round(s), each sample on a fresh server`,
  );
  say(`  database: ${db.kind}`);
  if (baseline) say(`  baseline: the [baseline] rows run ${baseline}/dist, interleaved with this checkout's`);
  if (baseline && process.env.BENCH_BASELINE_ENV)
    say(`  baseline settings: ${process.env.BENCH_BASELINE_ENV}`);
  say(
    `  shipshape: APP_ENV=production NODE_ENV=production, generated SECRET_KEY, TRUST_PROXY=1, LOG_LEVEL=info (JSON to a file)`,
  );
  say(
    `  rate limit: on, production window (60 s); general limit raised from 300 to ${fmt(settings.rateLimitMax)} per window so one address is not answered 429; auth limit unchanged`,
  );

  try {
    const seeder = await startServer({
      kind: 'shipshape',
      workers: 1,
      pinning,
      databaseUrl: db.url,
      rateLimitMax: settings.rateLimitMax,
      logFile: join(logDir, 'seed.log'),
    });
    let fixture: Fixture;
    try {
      fixture = await seed(seeder.url, 20);
    } finally {
      await seeder.stop();
    }
    say(`  fixture: one account with ${fixture.notes} notes; every POST adds one more`);
    say();

    const { samples, clusterWorks } = await sampleAll(cases, {
      settings,
      db,
      fixture,
      load,
      pinning,
      logDir,
    });
    const summary = summarize(
      cases.filter((c) => clusterWorks || c.workers === 1),
      samples,
      settings.quick,
    );
    for (const line of table(summary)) say(line);
    if (!summary.referencesMeasured) {
      say('\nREFUSED: the reference servers could not be measured on a quiet machine; no ratios reported.');
      process.exitCode = 2;
      return;
    }
    say();
    say(
      'errors: socket errors plus answers outside 2xx (a 429 would count). samples: clean/taken; a sample is thrown away',
    );
    say(
      `when other processes used more than ${settings.maxForeignCores} cores during it. CPU us/req: the server's own CPU time.`,
    );
    if (!clusterWorks)
      say(
        'WEB_CONCURRENCY=2: dist/main.js started one process (no cluster primary yet): 1 worker measured only.',
      );
    say();
    const verdicts = targets(summary, { ...settings, clusterWorks, databaseKind: db.kind });
    for (const line of verdicts) say(line);
    if (summary.rows.some((r) => r.refused)) {
      say('\nREFUSED for some cases: another process took the CPU during every sample of them (see above).');
      process.exitCode = 2;
    }

    const resultsDir = join(__dirname, 'results');
    mkdirSync(resultsDir, { recursive: true });
    const file = join(
      resultsDir,
      `bench-${new Date().toISOString().replace(/[:.]/g, '-')}${settings.quick ? '-quick' : ''}.json`,
    );
    const commit = execFileSync('git', ['describe', '--always', '--dirty'], {
      cwd: join(__dirname, '..'),
      encoding: 'utf8',
    }).trim();
    const results = {
      at: new Date().toISOString(),
      commit,
      node: serverNodeVersion(),
      cpu: cpuModel(),
      cores: coreCount(),
      pinning: pinning.describe,
      loadGenerator: load.name,
      database: db.kind,
      settings,
      clusterWorks,
      summary: summaryJson(summary),
      targets: verdicts,
      samples,
    };
    writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
    say(`\nresults: ${file}`);
  } finally {
    await db.close();
    rmSync(logDir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error instanceof Error ? error.stack : error);
  process.exit(1);
});
