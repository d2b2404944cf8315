import { join } from 'node:path';
import type { Case } from './cases.js';
import type { LoadGenerator } from './load.js';
import { type BenchDatabase, type Fixture, startServer } from './servers.js';
import type { Settings } from './settings.js';
import {
  allProcessTicks,
  foreignCores,
  type Pinning,
  processTicks,
  sampleCpu,
  ticksToSeconds,
  topForeign,
} from './system.js';

/** One server started, loaded and stopped: what it did and whether another process disturbed it. */
export interface Sample {
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

export interface SamplingContext {
  settings: Settings;
  db: BenchDatabase;
  fixture: Fixture;
  load: LoadGenerator;
  pinning: Pinning;
  logDir: string;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits (up to 20 s) for the machine to be quiet before a sample; returns the foreign load last seen. */
async function waitForQuiet(
  db: BenchDatabase,
  maxForeignCores: number,
): Promise<{ cores: number; hogs: string[] }> {
  let last = { cores: 0, hogs: [] as string[] };
  for (let attempt = 0; attempt < 10; attempt++) {
    const ours = new Set([process.pid, ...(await db.backendPids())]);
    const ticks = () => [...ours].reduce((sum, pid) => sum + processTicks(pid, pid === process.pid), 0);
    const [cpu0, ours0, all0] = [sampleCpu(), ticks(), allProcessTicks()];
    await sleep(500);
    const [cpu1, ours1, all1] = [sampleCpu(), ticks(), allProcessTicks()];
    last = { cores: foreignCores(cpu0, cpu1, ours1 - ours0), hogs: topForeign(all0, all1, ours, 0.5) };
    if (last.cores <= maxForeignCores) return last;
    await sleep(1_500);
  }
  return last;
}

/** Starts a fresh server for the case, warms it up, loads it and measures; the server is stopped after. */
export async function measure(
  c: Case,
  round: number,
  attempt: number,
  context: SamplingContext,
): Promise<Sample> {
  const { settings } = context;
  if (!settings.quick) await waitForQuiet(context.db, settings.maxForeignCores);
  const logFile = join(context.logDir, `${c.id}-${round}-${attempt}.log`);
  const server = await startServer({
    kind: c.kind,
    workers: c.workers,
    pinning: context.pinning,
    databaseUrl: context.db.url,
    rateLimitMax: settings.rateLimitMax,
    logFile,
    ...(c.root && { root: c.root }),
    ...(c.env && { env: c.env }),
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
