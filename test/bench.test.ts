import { allCases, type Case, parseBaselineEnv } from '../bench/cases';
import { pairedRatio, summarize, summaryJson, table, targets } from '../bench/report';
import type { Sample } from '../bench/sampling';

/**
 * The benchmark's verdicts, from samples as bench/sampling.ts records them: what is reported, what is refused
 * and which targets are met. The run itself is `npm run bench` (`.ci/steps/50-bench.sh` runs it quick in CI).
 */

const cases: Case[] = [
  { id: 'raw', label: 'raw', kind: 'raw', workers: 1, method: 'GET', path: '/' },
  { id: 'express', label: 'express', kind: 'express', workers: 1, method: 'GET', path: '/' },
  { id: 'live-w1', label: 'live', kind: 'shipshape', workers: 1, method: 'GET', path: '/health/live' },
  { id: 'list-w1', label: 'list', kind: 'shipshape', workers: 1, method: 'GET', path: '/api/v1/notes' },
];

/** A peer that serves the same notes page as shipshape. */
const peer = (kind: 'express-pg' | 'fastify-pg'): Case => ({
  id: kind,
  label: kind,
  kind,
  workers: 1,
  method: 'GET',
  path: '/api/v1/notes',
});

function sample(caseId: string, requestsPerSecond: number, overrides: Partial<Sample> = {}): Sample {
  return {
    caseId,
    round: 1,
    attempt: 1,
    requestsPerSecond,
    p50Ms: 2,
    p99Ms: 10,
    socketErrors: 0,
    badStatus: 0,
    rssMb: 90,
    largestRssMb: 90,
    processes: 1,
    readyMs: 300,
    logBytesPerRequest: 200,
    serverCpuUsPerRequest: 80,
    foreignCores: 0,
    hogs: [],
    clean: true,
    ...overrides,
  };
}

const run = { connections: 50, seconds: 30, clusterWorks: false, databaseKind: 'PostgreSQL 15' };
const verdict = (lines: string[], text: string) => lines.find((line) => line.includes(text))?.slice(0, 4);

describe('PRF-4: the benchmark report', () => {
  test('when samples are clean, then each figure is their median and ratios are to the reference servers', () => {
    const summary = summarize(
      cases,
      [
        sample('raw', 10_000),
        sample('express', 5_000),
        ...[5_500, 6_000, 9_000].map((rps) => sample('live-w1', rps)),
        sample('list-w1', 3_000),
      ],
      false,
    );
    const live = summary.rows.find((r) => r.c.id === 'live-w1')?.figures;
    expect(summary.referencesMeasured).toBe(true);
    expect(live).toMatchObject({ requestsPerSecond: 6_000, vsRaw: 0.6, vsExpress: 1.2 });
    expect(summaryJson(summary).find((r) => r.id === 'live-w1')).toMatchObject({ requestsPerSecond: 6_000 });
    expect(table(summary).find((line) => line.startsWith('| live'))).toContain('6,000');
  });

  test('when a figure misses its target, then the report says MISS, and MET where it is met', () => {
    const summary = summarize(
      cases,
      [
        sample('raw', 10_000),
        sample('express', 5_000),
        sample('live-w1', 6_000, { p99Ms: 80, largestRssMb: 160 }),
        sample('list-w1', 3_000),
      ],
      false,
    );
    const lines = targets(summary, run);
    expect(verdict(lines, '/health/live >= 1.0x bare Express')).toBe('MET ');
    expect(verdict(lines, 'GET /api/v1/notes >= 0.4x')).toBe('MET ');
    expect(verdict(lines, '/health/live p99 <= 50 ms')).toBe('MISS');
    expect(verdict(lines, 'RSS per shipshape process')).toBe('MISS');
  });

  test('when the Express + pg and Fastify + pg peers are measured, then the notes page is reported as a ratio to each and judged against bare Express + pg', () => {
    const peers: Case[] = [...cases, peer('express-pg'), peer('fastify-pg')];
    const summary = summarize(
      peers,
      [
        sample('raw', 10_000),
        sample('express', 5_000),
        sample('express-pg', 1_000),
        sample('fastify-pg', 1_500),
        sample('live-w1', 5_000),
        sample('list-w1', 1_200),
      ],
      false,
    );
    const list = summary.rows.find((r) => r.c.id === 'list-w1')?.figures;
    expect(list?.vsExpressPg).toBeCloseTo(1.2);
    expect(list?.vsFastifyPg).toBeCloseTo(0.8);
    expect(table(summary).find((line) => line.startsWith('| list'))).toMatch(/\| +1\.20 \| +0\.80 \|/);
    const lines = targets(summary, run);
    expect(verdict(lines, 'GET /api/v1/notes >= 1.0x bare Express 5 + pg')).toBe('MET ');
    expect(verdict(lines, 'stretch: GET /api/v1/notes >= 1.3x')).toBe('MISS');
    expect(verdict(lines, '/health/live >= 1.1x bare Express 5')).toBe('MISS');
  });

  test('when the machine slows for a round, then the notes page is also reported round by round against the peer measured beside it', () => {
    const summary = summarize(
      [...cases, peer('express-pg')],
      [
        sample('raw', 10_000),
        sample('express', 5_000),
        sample('live-w1', 5_000),
        sample('express-pg', 1_000, { round: 1 }),
        sample('list-w1', 1_100, { round: 1 }),
        sample('express-pg', 500, { round: 2 }),
        sample('list-w1', 550, { round: 2 }),
        sample('express-pg', 1_000, { round: 3 }),
        sample('list-w1', 900, { round: 3 }),
        sample('express-pg', 2_000, { round: 4, clean: false }),
        sample('list-w1', 700, { round: 4 }),
      ],
      false,
    );
    expect(pairedRatio(summary, 'list-w1', 'express-pg')).toEqual({
      median: expect.closeTo(1.1),
      min: expect.closeTo(0.9),
      max: expect.closeTo(1.1),
      rounds: 3,
    });
    const line = targets(summary, run).find((l) => l.includes('GET /api/v1/notes >= 1.0x'));
    // Each case's median alone (800 against 1,000) reads 0.80x: the slow round weighed on one side only.
    expect(line).toMatch(/^MISS .*: 0\.80x; round by round 1\.10x \(0\.90x to 1\.10x over 3 rounds\)$/);
  });

  test('when every sample of a case was noisy, then it is refused and no target is judged on it', () => {
    const noisy = { clean: false, foreignCores: 0.9, hogs: ['other (1234)'] };
    const summary = summarize(
      cases,
      [sample('raw', 10_000), sample('express', 5_000, noisy), sample('live-w1', 6_000, noisy)],
      false,
    );
    expect(summary.referencesMeasured).toBe(false);
    const live = summary.rows.find((r) => r.c.id === 'live-w1');
    expect(live?.refused).toBe(true);
    expect(live?.figures).toBeUndefined();
    expect(table(summary).find((line) => line.startsWith('| live'))).toMatch(
      /REFUSED: other processes used 0\.90 cores/,
    );
    expect(verdict(targets(summary, run), '/health/live >= 1.0x bare Express')).toBe('n/a ');
  });

  test('when the run is quick, then noisy samples still count: it proves the bench works and never refuses', () => {
    const summary = summarize(
      cases,
      [sample('raw', 10_000, { clean: false }), sample('express', 5_000)],
      true,
    );
    expect(summary.rows.every((r) => !r.refused)).toBe(true);
  });
});

describe('PRF-4: a setting weighed against its default in one run', () => {
  test('when BENCH_BASELINE_ENV names settings, then only the baseline copies of shipshape cases get them', () => {
    const env = parseBaselineEnv(' DATABASE_POOL_MAX=4  SESSION_CACHE_SECONDS=0 ');
    expect(env).toEqual({ DATABASE_POOL_MAX: '4', SESSION_CACHE_SECONDS: '0' });
    const all = allCases('/tmp/another-build', env);
    const copies = all.filter((c) => c.root);
    expect(copies.length).toBeGreaterThan(0);
    expect(copies.every((c) => c.kind === 'shipshape' && c.env === env)).toBe(true);
    expect(all.filter((c) => !c.root).every((c) => c.env === undefined)).toBe(true);
  });

  test('when a pair is not NAME=value, then the run stops and names it rather than measuring the default twice', () => {
    expect(parseBaselineEnv(undefined)).toEqual({});
    expect(() => parseBaselineEnv('DATABASE_POOL_MAX=4 pool=4')).toThrow(/pool=4 is not NAME=value/);
  });
});
