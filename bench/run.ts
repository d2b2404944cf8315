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
 * before/after measured in one run).
 * --quick: one short round at 10 connections that only proves the bench works (CI); it never refuses.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chooseLoadGenerator, type LoadGenerator } from './load.js';
import {
  type BenchDatabase,
  type Fixture,
  openBenchDatabase,
  type ServerKind,
  seed,
  serverNodeVersion,
  startServer,
} from './servers.js';
import {
  allProcessTicks,
  coreCount,
  cpuModel,
  detectPinning,
  foreignCores,
  type Pinning,
  processTicks,
  sampleCpu,
  ticksToSeconds,
  topForeign,
} from './system.js';

interface Case {
  id: string;
  label: string;
  kind: ServerKind;
  workers: number;
  method: 'GET' | 'POST';
  path: string;
  auth?: boolean;
  body?: string;
  root?: string;
}

interface Sample {
  caseId: string;
  round: number;
  attempt: number;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  socketErrors: number;
  badStatus: number;
  rssMb: number;
  largestRssMb: number;
  processes: number;
  readyMs: number;
  logBytesPerRequest: number;
  serverCpuUsPerRequest: number;
  foreignCores: number;
  hogs: string[];
  clean: boolean;
}

const NOTE_BODY = JSON.stringify({ title: 'bench', body: 'A note written by the benchmark under load.' });

const SHIPSHAPE_CASES: Case[] = [
  ...[1, 2].flatMap((workers): Case[] => [
    {
      id: `live-w${workers}`,
      label: `shipshape GET /health/live`,
      kind: 'shipshape',
      workers,
      method: 'GET',
      path: '/health/live',
    },
    {
      id: `list-w${workers}`,
      label: `shipshape GET /api/v1/notes (20)`,
      kind: 'shipshape',
      workers,
      method: 'GET',
      path: '/api/v1/notes',
      auth: true,
    },
    {
      id: `create-w${workers}`,
      label: `shipshape POST /api/v1/notes`,
      kind: 'shipshape',
      workers,
      method: 'POST',
      path: '/api/v1/notes',
      auth: true,
      body: NOTE_BODY,
    },
  ]),
];

const baseline = process.env.BENCH_BASELINE;
const CASES: Case[] = [
  { id: 'raw', label: 'raw node:http hello', kind: 'raw', workers: 1, method: 'GET', path: '/' },
  {
    id: 'express',
    label: 'bare Express 5 hello (defaults)',
    kind: 'express',
    workers: 1,
    method: 'GET',
    path: '/',
  },
  ...SHIPSHAPE_CASES,
  ...(baseline
    ? SHIPSHAPE_CASES.map((c) => ({
        ...c,
        id: `${c.id}-base`,
        label: `${c.label} [baseline]`,
        root: baseline,
      }))
    : []),
];

function numberFrom(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number, not ${raw}`);
  return value;
}

const quick = process.argv.includes('--quick');
const settings = {
  quick,
  seconds: quick ? 1 : numberFrom('BENCH_SECONDS', 10),
  warmupSeconds: quick ? 1 : numberFrom('BENCH_WARMUP_SECONDS', 3),
  connections: quick ? 10 : numberFrom('BENCH_CONNECTIONS', 50),
  rounds: quick ? 1 : numberFrom('BENCH_ROUNDS', 3),
  maxForeignCores: numberFrom('BENCH_MAX_FOREIGN_CPU', 0.15),
  retries: quick ? 0 : 2,
};
/**
 * The general limit keeps its production window (60 s) and stays on: every request still goes through the
 * limiter and its store. Only the count is raised, to what one address can send at 30,000 req/s over a
 * server's whole life in the bench (warm-up plus run, the counters start afresh with each server), so the
 * figures measure answers, not 429s. Health probes are never rate limited (HLT), as in production.
 */
const rateLimitMax = numberFrom(
  'BENCH_RATE_LIMIT_MAX',
  Math.ceil(30_000 * (settings.seconds + settings.warmupSeconds)),
);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};
const say = (line = '') => process.stdout.write(`${line}\n`);

/** Waits (up to 20 s) for the machine to be quiet before a sample; returns the foreign load last seen. */
async function waitForQuiet(db: BenchDatabase): Promise<{ cores: number; hogs: string[] }> {
  let last = { cores: 0, hogs: [] as string[] };
  for (let attempt = 0; attempt < 10; attempt++) {
    const ours = new Set([process.pid, ...(await db.backendPids())]);
    const ticks = () => [...ours].reduce((sum, pid) => sum + processTicks(pid, pid === process.pid), 0);
    const [cpu0, ours0, all0] = [sampleCpu(), ticks(), allProcessTicks()];
    await sleep(500);
    const [cpu1, ours1, all1] = [sampleCpu(), ticks(), allProcessTicks()];
    last = { cores: foreignCores(cpu0, cpu1, ours1 - ours0), hogs: topForeign(all0, all1, ours, 0.5) };
    if (last.cores <= settings.maxForeignCores) return last;
    await sleep(1_500);
  }
  return last;
}

async function measure(
  c: Case,
  round: number,
  attempt: number,
  context: { db: BenchDatabase; fixture: Fixture; load: LoadGenerator; pinning: Pinning; logDir: string },
): Promise<Sample> {
  if (!settings.quick) await waitForQuiet(context.db);
  const logFile = join(context.logDir, `${c.id}-${round}-${attempt}.log`);
  const server = await startServer({
    kind: c.kind,
    workers: c.workers,
    pinning: context.pinning,
    databaseUrl: context.db.url,
    rateLimitMax,
    logFile,
    ...(c.root && { root: c.root }),
  });
  try {
    const request = {
      url: `${server.url}${c.path}`,
      method: c.method,
      connections: settings.connections,
      ...(c.body && { body: c.body }),
      ...(c.auth && { token: context.fixture.token }),
    };
    await context.load.run({ ...request, seconds: settings.warmupSeconds });
    // PostgreSQL's backends for this server exist now: they share the load generator's core, not the server's.
    const backends = await context.db.backendPids();
    for (const pid of backends) context.pinning.move(pid, '0');
    await sleep(200);

    const ours = new Set([process.pid, ...server.pids(), ...backends]);
    const oursTicks = () =>
      processTicks(process.pid, true) +
      server.cpuTicks() +
      backends.reduce((sum, pid) => sum + processTicks(pid), 0);
    const before = { cpu: sampleCpu(), ours: oursTicks(), server: server.cpuTicks(), all: allProcessTicks() };
    const logBefore = server.logBytes();
    const result = await context.load.run({ ...request, seconds: settings.seconds });
    const after = { cpu: sampleCpu(), ours: oursTicks(), server: server.cpuTicks(), all: allProcessTicks() };
    const rss = server.rss();
    const processes = server.pids().length;
    await sleep(200); // lets an asynchronous log destination write what it holds
    const logBytes = server.logBytes() - logBefore;

    const foreign = foreignCores(before.cpu, after.cpu, after.ours - before.ours);
    const seconds = (after.cpu.at - before.cpu.at) / 1000;
    return {
      caseId: c.id,
      round,
      attempt,
      requestsPerSecond: result.requests / result.seconds,
      p50Ms: result.p50Ms,
      p99Ms: result.p99Ms,
      socketErrors: result.socketErrors,
      badStatus: result.badStatus,
      rssMb: rss.total / 2 ** 20,
      largestRssMb: rss.largest / 2 ** 20,
      processes,
      readyMs: server.readyMs,
      logBytesPerRequest: result.requests > 0 ? logBytes / result.requests : 0,
      serverCpuUsPerRequest:
        result.requests > 0 ? (ticksToSeconds(after.server - before.server) / result.requests) * 1e6 : 0,
      foreignCores: foreign,
      hogs: topForeign(before.all, after.all, ours, seconds),
      clean: foreign <= settings.maxForeignCores,
    };
  } finally {
    await server.stop();
  }
}

interface Row {
  c: Case;
  samples: Sample[];
  clean: Sample[];
  refused: boolean;
  rps: number;
}

function fmt(value: number, digits = 0) {
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function printTable(rows: Row[], rawRps: number, expressRps: number) {
  const header = [
    'case',
    'workers',
    'req/s',
    'p50 ms',
    'p99 ms',
    'errors',
    'RSS MB',
    'x raw',
    'x Express',
    'ready ms',
    'log B/req',
    'CPU us/req',
    'samples',
  ];
  const lines = rows.map(({ c, samples, clean, refused, rps }) => {
    if (refused) {
      const worst = samples.reduce((a, b) => (a.foreignCores > b.foreignCores ? a : b));
      return [
        c.label,
        String(c.workers),
        `REFUSED: other processes used ${worst.foreignCores.toFixed(2)} cores (${worst.hogs.join(', ') || 'short-lived'})`,
      ];
    }
    const pick = (f: (s: Sample) => number) => median(clean.map(f));
    const errors = clean.reduce((sum, s) => sum + s.socketErrors + s.badStatus, 0);
    return [
      c.label,
      String(clean[0]!.processes > 1 ? clean[0]!.processes - 1 : 1),
      fmt(rps),
      fmt(
        pick((s) => s.p50Ms),
        2,
      ),
      fmt(
        pick((s) => s.p99Ms),
        2,
      ),
      String(errors),
      fmt(
        pick((s) => s.rssMb),
        1,
      ),
      fmt(rps / rawRps, 2),
      fmt(rps / expressRps, 2),
      fmt(pick((s) => s.readyMs)),
      fmt(
        pick((s) => s.logBytesPerRequest),
        1,
      ),
      fmt(pick((s) => s.serverCpuUsPerRequest)),
      `${clean.length}/${samples.length}`,
    ];
  });
  const widths = header.map((h, i) =>
    Math.max(h.length, ...lines.map((l) => (l.length > 3 ? (l[i] ?? '').length : 0))),
  );
  const row = (cells: string[]) =>
    `| ${cells.map((cell, i) => (i === 0 || cells.length === 3 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0))).join(' | ')} |`;
  say(row(header));
  say(`|${widths.map((w, i) => (i === 0 ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`)).join('|')}|`);
  for (const l of lines) say(row(l));
}

const shown = (value: number | undefined, unit: string) =>
  value === undefined ? 'not measured' : `${value.toFixed(2)}${unit}`;

function targets(
  rows: Map<string, Row>,
  expressRps: number,
  clusterWorks: boolean,
  dbKind: string,
): string[] {
  const get = (id: string) => {
    const r = rows.get(id);
    return r && !r.refused ? r : undefined;
  };
  const out: string[] = [];
  const check = (ok: boolean | undefined, text: string) =>
    out.push(`${ok === undefined ? 'n/a ' : ok ? 'MET ' : 'MISS'}  ${text}`);
  const live = get('live-w1');
  const liveRatio = live ? live.rps / expressRps : undefined;
  check(
    liveRatio === undefined ? undefined : liveRatio >= 1,
    `/health/live >= 1.0x bare Express: ${shown(liveRatio, 'x')}`,
  );
  // The issue measured the typical hardened stack at 1,900 req/s where bare Express made 4,000 (other machine):
  // 2.5x that stack is 1.19x bare Express by those ratios.
  check(
    liveRatio === undefined ? undefined : liveRatio >= (2.5 * 1_900) / 4_000,
    `/health/live >= 2.5x the typical hardened stack (= 1.19x bare Express by the issue's ratios): ${shown(liveRatio, 'x')}`,
  );
  const list = get('list-w1');
  const listRatio = live && list ? list.rps / live.rps : undefined;
  const onPostgres = /^PostgreSQL/.test(dbKind);
  check(
    listRatio === undefined ? undefined : listRatio >= 0.4,
    `GET /api/v1/notes >= 0.4x /health/live${onPostgres ? '' : ' (target is on PostgreSQL 15; this run used the embedded database)'}: ${shown(listRatio, 'x')}`,
  );
  const liveP99 = live ? median(live.clean.map((s) => s.p99Ms)) : undefined;
  check(
    liveP99 === undefined ? undefined : liveP99 <= 50,
    `/health/live p99 <= 50 ms at ${settings.connections} connections${settings.connections === 50 ? '' : ' (target is at 50)'}: ${shown(liveP99, ' ms')}`,
  );
  const largest = Math.max(
    ...[...rows.values()]
      .filter((r) => r.c.kind === 'shipshape' && !r.c.root && !r.refused)
      .flatMap((r) => r.clean.map((s) => s.largestRssMb)),
  );
  check(
    Number.isFinite(largest) ? largest <= 150 : undefined,
    `RSS per shipshape process after ${settings.seconds} s of load <= 150 MB${settings.seconds >= 30 ? '' : ' (target is after 30 s)'}: ${shown(Number.isFinite(largest) ? largest : undefined, ' MB')}`,
  );
  const live2 = get('live-w2');
  const scale = clusterWorks && live && live2 ? live2.rps / live.rps : undefined;
  check(
    scale === undefined ? undefined : scale >= 1.5,
    `WEB_CONCURRENCY=2 >= 1.5x one worker on /health/live: ${
      !clusterWorks
        ? 'not measured: dist/main.js started a single process with WEB_CONCURRENCY=2 (no cluster primary yet)'
        : `${shown(scale, 'x')} (${coreCount()} cores: the second worker shares core 0 with the load generator, so this machine cannot show the target)`
    }`,
  );
  return out;
}

async function main() {
  const pinning = detectPinning();
  if (pinning.available) pinning.move(process.pid, '0');
  const load = chooseLoadGenerator(pinning);
  const only = process.env.BENCH_CASES?.split(',').map((s) => s.trim());
  let cases = CASES.filter(
    (c) => !only || only.includes(c.id.replace(/-base$/, '')) || c.kind !== 'shipshape',
  );
  const logDir = mkdtempSync(join(tmpdir(), 'shipshape-bench-'));
  const db = await openBenchDatabase(process.env.BENCH_DATABASE_URL);

  say(`shipshape bench${quick ? ' --quick (proves the bench works; its figures mean nothing)' : ''}`);
  say(
    `  servers on node ${serverNodeVersion()}${process.env.BENCH_NODE ? ` (BENCH_NODE)` : ''}, on ${cpuModel()}, ${coreCount()} cores; ${pinning.describe}`,
  );
  say(
    `  load: ${load.name}, ${settings.connections} connections, ${settings.warmupSeconds} s warm-up + ${settings.seconds} s, ${settings.rounds} interleaved round(s), each sample on a fresh server`,
  );
  say(`  database: ${db.kind}`);
  if (baseline) say(`  baseline: the [baseline] rows run ${baseline}/dist, interleaved with this checkout's`);
  say(
    `  shipshape: APP_ENV=production NODE_ENV=production, generated SECRET_KEY, TRUST_PROXY=1, LOG_LEVEL=info (JSON to a file)`,
  );
  say(
    `  rate limit: on, production window (60 s); general limit raised from 300 to ${fmt(rateLimitMax)} per window so one address is not answered 429; auth limit unchanged`,
  );

  try {
    const seeder = await startServer({
      kind: 'shipshape',
      workers: 1,
      pinning,
      databaseUrl: db.url,
      rateLimitMax,
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

    const context = { db, fixture, load, pinning, logDir };
    const samples: Sample[] = [];
    let clusterWorks = true;
    for (let round = 1; round <= settings.rounds; round++) {
      // Interleaved: each round visits every case, starting one further along, so drift spreads over all.
      const order = cases.map((_, i) => cases[(i + round - 1) % cases.length]!);
      for (const c of order) {
        if (c.workers > 1 && !clusterWorks) continue;
        for (let attempt = 1; attempt <= 1 + settings.retries; attempt++) {
          const sample = await measure(c, round, attempt, context);
          samples.push(sample);
          if (c.workers > 1 && sample.processes < 2) {
            clusterWorks = false;
            cases = cases.filter((x) => x.workers === 1);
          }
          process.stderr.write(
            `  round ${round} ${c.id.padEnd(10)} ${fmt(sample.requestsPerSecond).padStart(7)} req/s  p99 ${sample.p99Ms.toFixed(1)} ms  other processes ${sample.foreignCores.toFixed(2)} cores${sample.clean ? '' : ` NOISY ${sample.hogs.join(', ')}`}\n`,
          );
          if (sample.clean) break;
        }
      }
    }

    const rows = new Map<string, Row>();
    for (const c of CASES) {
      const mine = samples.filter((s) => s.caseId === c.id && !(c.workers > 1 && !clusterWorks));
      if (mine.length === 0) continue;
      const clean = quick ? mine : mine.filter((s) => s.clean);
      const refused = clean.length === 0;
      rows.set(c.id, {
        c,
        samples: mine,
        clean,
        refused,
        rps: refused ? 0 : median(clean.map((s) => s.requestsPerSecond)),
      });
    }
    const raw = rows.get('raw');
    const express = rows.get('express');
    if (!raw || raw.refused || !express || express.refused) {
      printTable([...rows.values()], 1, 1);
      say('\nREFUSED: the reference servers could not be measured on a quiet machine; no ratios reported.');
      process.exitCode = 2;
      return;
    }
    printTable([...rows.values()], raw.rps, express.rps);
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
    const verdicts = targets(rows, express.rps, clusterWorks, db.kind);
    for (const line of verdicts) say(line);
    const refusedAny = [...rows.values()].some((r) => r.refused);
    if (refusedAny) {
      say('\nREFUSED for some cases: another process took the CPU during every sample of them (see above).');
      process.exitCode = 2;
    }

    const resultsDir = join(__dirname, 'results');
    mkdirSync(resultsDir, { recursive: true });
    const file = join(
      resultsDir,
      `bench-${new Date().toISOString().replace(/[:.]/g, '-')}${quick ? '-quick' : ''}.json`,
    );
    const commit = execFileSync('git', ['describe', '--always', '--dirty'], {
      cwd: join(__dirname, '..'),
      encoding: 'utf8',
    }).trim();
    writeFileSync(
      file,
      `${JSON.stringify(
        {
          at: new Date().toISOString(),
          commit,
          node: serverNodeVersion(),
          cpu: cpuModel(),
          cores: coreCount(),
          pinning: pinning.describe,
          loadGenerator: load.name,
          database: db.kind,
          settings: { ...settings, rateLimitMax },
          clusterWorks,
          summary: [...rows.values()].map((r) => ({
            id: r.c.id,
            label: r.c.label,
            workers: r.c.workers,
            refused: r.refused,
            requestsPerSecond: r.rps,
            vsRaw: r.rps / raw.rps,
            vsExpress: r.rps / express.rps,
            p50Ms: r.refused ? null : median(r.clean.map((s) => s.p50Ms)),
            p99Ms: r.refused ? null : median(r.clean.map((s) => s.p99Ms)),
            rssMb: r.refused ? null : median(r.clean.map((s) => s.rssMb)),
            readyMs: r.refused ? null : median(r.clean.map((s) => s.readyMs)),
            logBytesPerRequest: r.refused ? null : median(r.clean.map((s) => s.logBytesPerRequest)),
            serverCpuUsPerRequest: r.refused ? null : median(r.clean.map((s) => s.serverCpuUsPerRequest)),
          })),
          targets: verdicts,
          samples,
        },
        null,
        2,
      )}\n`,
    );
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
