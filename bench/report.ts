import type { Case } from './cases.js';
import type { Sample } from './sampling.js';
import { coreCount } from './system.js';

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

/** A case's figures: medians of its clean samples, the largest process of any of them, errors summed. */
export interface Figures {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  rssMb: number;
  largestRssMb: number;
  readyMs: number;
  logBytesPerRequest: number;
  serverCpuUsPerRequest: number;
  errors: number;
  /** Processes that serve: the workers, or the one process when there is no cluster primary. */
  workers: number;
  /** Ratios to the reference servers; undefined when those were refused. */
  vsRaw?: number;
  vsExpress?: number;
  /** Ratios to the peers that serve the same notes page: bare Express 5 + pg and Fastify 5 + pg. */
  vsExpressPg?: number;
  vsFastifyPg?: number;
}

export interface SummaryRow {
  c: Case;
  samples: Sample[];
  clean: Sample[];
  /** Every sample was taken while another process used the CPU: no figure is reported. */
  refused: boolean;
  figures?: Figures;
}

export interface Summary {
  rows: SummaryRow[];
  /** raw node:http and bare Express were measured, so ratios mean something. */
  referencesMeasured: boolean;
}

/**
 * Computed once, for the table, the targets and the JSON alike. In quick mode every sample counts (it only
 * proves the bench works); otherwise noisy samples are dropped and a case with none left is refused.
 */
export function summarize(cases: Case[], samples: Sample[], quick: boolean): Summary {
  const rows = cases.flatMap((c): SummaryRow[] => {
    const mine = samples.filter((s) => s.caseId === c.id);
    if (mine.length === 0) return [];
    const clean = quick ? mine : mine.filter((s) => s.clean);
    if (clean.length === 0) return [{ c, samples: mine, clean, refused: true }];
    const pick = (f: (s: Sample) => number) => median(clean.map(f));
    const processes = clean[0]!.processes;
    return [
      {
        c,
        samples: mine,
        clean,
        refused: false,
        figures: {
          requestsPerSecond: pick((s) => s.requestsPerSecond),
          p50Ms: pick((s) => s.p50Ms),
          p99Ms: pick((s) => s.p99Ms),
          rssMb: pick((s) => s.rssMb),
          largestRssMb: Math.max(...clean.map((s) => s.largestRssMb)),
          readyMs: pick((s) => s.readyMs),
          logBytesPerRequest: pick((s) => s.logBytesPerRequest),
          serverCpuUsPerRequest: pick((s) => s.serverCpuUsPerRequest),
          errors: clean.reduce((sum, s) => sum + s.socketErrors + s.badStatus, 0),
          workers: processes > 1 ? processes - 1 : 1,
        },
      },
    ];
  });
  const rps = (id: string) => rows.find((r) => r.c.id === id)?.figures?.requestsPerSecond;
  const [raw, express, expressPg, fastifyPg] = ['raw', 'express', 'express-pg', 'fastify-pg'].map(rps);
  const ratio = (of: number, to: number | undefined) => (to === undefined ? undefined : of / to);
  for (const { figures } of rows) {
    if (!figures) continue;
    figures.vsRaw = ratio(figures.requestsPerSecond, raw);
    figures.vsExpress = ratio(figures.requestsPerSecond, express);
    figures.vsExpressPg = ratio(figures.requestsPerSecond, expressPg);
    figures.vsFastifyPg = ratio(figures.requestsPerSecond, fastifyPg);
  }
  return { rows, referencesMeasured: raw !== undefined && express !== undefined };
}

export function fmt(value: number | undefined, digits = 0) {
  if (value === undefined) return '-';
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

const HEADER = [
  'case',
  'workers',
  'req/s',
  'p50 ms',
  'p99 ms',
  'errors',
  'RSS MB',
  'x raw',
  'x Express',
  'x Express+pg',
  'x Fastify+pg',
  'ready ms',
  'log B/req',
  'CPU us/req',
  'samples',
];

/** The Markdown table docs/performance.md quotes. */
export function table(summary: Summary): string[] {
  const lines = summary.rows.map(({ c, samples, clean, figures }) => {
    if (!figures) {
      const worst = samples.reduce((a, b) => (a.foreignCores > b.foreignCores ? a : b));
      return [
        c.label,
        String(c.workers),
        `REFUSED: other processes used ${worst.foreignCores.toFixed(2)} cores (${worst.hogs.join(', ') || 'short-lived'})`,
      ];
    }
    return [
      c.label,
      String(figures.workers),
      fmt(figures.requestsPerSecond),
      fmt(figures.p50Ms, 2),
      fmt(figures.p99Ms, 2),
      String(figures.errors),
      fmt(figures.rssMb, 1),
      fmt(figures.vsRaw, 2),
      fmt(figures.vsExpress, 2),
      fmt(figures.vsExpressPg, 2),
      fmt(figures.vsFastifyPg, 2),
      fmt(figures.readyMs),
      fmt(figures.logBytesPerRequest, 1),
      fmt(figures.serverCpuUsPerRequest),
      `${clean.length}/${samples.length}`,
    ];
  });
  const widths = HEADER.map((h, i) =>
    Math.max(h.length, ...lines.map((l) => (l.length > 3 ? (l[i] ?? '').length : 0))),
  );
  const row = (cells: string[]) =>
    `| ${cells.map((cell, i) => (i === 0 || cells.length === 3 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0))).join(' | ')} |`;
  return [
    row(HEADER),
    `|${widths.map((w, i) => (i === 0 ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`)).join('|')}|`,
    ...lines.map(row),
  ];
}

const shown = (value: number | undefined, unit: string) =>
  value === undefined ? 'not measured' : `${value.toFixed(2)}${unit}`;

export interface PairedRatio {
  median: number;
  min: number;
  max: number;
  rounds: number;
}

/**
 * One case against another round by round: the two samples of a round are taken minutes apart at most, so a
 * slow patch of the machine that lasts a round slows both and cancels out of their ratio, where it moves a
 * median of each case on its own. The median of those ratios and their range; undefined without a round in
 * which both have a clean sample.
 */
export function pairedRatio(summary: Summary, of: string, to: string): PairedRatio | undefined {
  const byRound = (id: string) =>
    new Map(
      (summary.rows.find((r) => r.c.id === id)?.clean ?? []).map((s) => [s.round, s.requestsPerSecond]),
    );
  const mine = byRound(of);
  const theirs = byRound(to);
  const ratios = [...mine].flatMap(([round, rps]) => {
    const other = theirs.get(round);
    return other ? [rps / other] : [];
  });
  if (ratios.length === 0) return undefined;
  return {
    median: median(ratios),
    min: Math.min(...ratios),
    max: Math.max(...ratios),
    rounds: ratios.length,
  };
}

const roundByRound = (paired: PairedRatio | undefined) =>
  paired
    ? `; round by round ${paired.median.toFixed(2)}x (${paired.min.toFixed(2)}x to ${paired.max.toFixed(2)}x over ${paired.rounds} round${paired.rounds === 1 ? '' : 's'})`
    : '';

export interface RunFacts {
  connections: number;
  seconds: number;
  /** dist/main.js started a cluster primary when asked for two workers. */
  clusterWorks: boolean;
  databaseKind: string;
}

/** docs/performance.md's targets, each MET, MISS or n/a (a figure refused or not measured) with its figure. */
export function targets(summary: Summary, run: RunFacts): string[] {
  const figures = (id: string) => summary.rows.find((r) => r.c.id === id)?.figures;
  const out: string[] = [];
  const check = (ok: boolean | undefined, text: string) =>
    out.push(`${ok === undefined ? 'n/a ' : ok ? 'MET ' : 'MISS'}  ${text}`);
  const live = figures('live-w1');
  const liveRatio = live?.vsExpress;
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
  check(
    liveRatio === undefined ? undefined : liveRatio >= 1.1,
    `/health/live >= 1.1x bare Express 5, every production middleware on: ${shown(liveRatio, 'x')}${roundByRound(pairedRatio(summary, 'live-w1', 'express'))}`,
  );
  const list = figures('list-w1');
  const listVsPeer = list?.vsExpressPg;
  check(
    listVsPeer === undefined ? undefined : listVsPeer >= 1,
    `GET /api/v1/notes >= 1.0x bare Express 5 + pg (same queries, same JSON): ${shown(listVsPeer, 'x')}${roundByRound(pairedRatio(summary, 'list-w1', 'express-pg'))}`,
  );
  check(
    listVsPeer === undefined ? undefined : listVsPeer >= 1.3,
    `stretch: GET /api/v1/notes >= 1.3x bare Express 5 + pg (Fastify 5 + pg: ${shown(list?.vsFastifyPg, 'x')} of it): ${shown(listVsPeer, 'x')}`,
  );
  const listRatio = live && list ? list.requestsPerSecond / live.requestsPerSecond : undefined;
  const onPostgres = /^PostgreSQL/.test(run.databaseKind);
  check(
    listRatio === undefined ? undefined : listRatio >= 0.4,
    `GET /api/v1/notes >= 0.4x /health/live${onPostgres ? '' : ' (target is on PostgreSQL 15; this run used the embedded database)'}: ${shown(listRatio, 'x')}`,
  );
  const liveP99 = live?.p99Ms;
  check(
    liveP99 === undefined ? undefined : liveP99 <= 50,
    `/health/live p99 <= 50 ms at ${run.connections} connections${run.connections === 50 ? '' : ' (target is at 50)'}: ${shown(liveP99, ' ms')}`,
  );
  const largest = Math.max(
    ...summary.rows
      .filter((r) => r.c.kind === 'shipshape' && !r.c.root)
      .map((r) => r.figures?.largestRssMb ?? -1),
  );
  const measuredLargest = largest >= 0 ? largest : undefined;
  check(
    measuredLargest === undefined ? undefined : measuredLargest <= 150,
    `RSS per shipshape process after ${run.seconds} s of load <= 150 MB${run.seconds >= 30 ? '' : ' (target is after 30 s)'}: ${shown(measuredLargest, ' MB')}`,
  );
  const live2 = figures('live-w2');
  const scale =
    run.clusterWorks && live && live2 ? live2.requestsPerSecond / live.requestsPerSecond : undefined;
  check(
    scale === undefined ? undefined : scale >= 1.5,
    `WEB_CONCURRENCY=2 >= 1.5x one worker on /health/live: ${
      !run.clusterWorks
        ? 'not measured: dist/main.js started a single process with WEB_CONCURRENCY=2 (no cluster primary yet)'
        : `${shown(scale, 'x')} (${coreCount()} cores: the second worker shares core 0 with the load generator, so this machine cannot show the target)`
    }`,
  );
  return out;
}

/** The summary as bench/results/*.json records it, beside every sample. */
export function summaryJson(summary: Summary) {
  return summary.rows.map(({ c, refused, figures }) => ({
    id: c.id,
    label: c.label,
    workers: c.workers,
    refused,
    requestsPerSecond: figures?.requestsPerSecond ?? 0,
    vsRaw: figures?.vsRaw ?? null,
    vsExpress: figures?.vsExpress ?? null,
    vsExpressPg: figures?.vsExpressPg ?? null,
    vsFastifyPg: figures?.vsFastifyPg ?? null,
    p50Ms: figures?.p50Ms ?? null,
    p99Ms: figures?.p99Ms ?? null,
    rssMb: figures?.rssMb ?? null,
    readyMs: figures?.readyMs ?? null,
    logBytesPerRequest: figures?.logBytesPerRequest ?? null,
    serverCpuUsPerRequest: figures?.serverCpuUsPerRequest ?? null,
  }));
}
