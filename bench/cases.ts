import type { ServerKind } from './servers.js';

/** One thing measured: a server, its worker count and the request the load generator repeats. */
export interface Case {
  id: string;
  label: string;
  kind: ServerKind;
  workers: number;
  method: 'GET' | 'POST';
  path: string;
  auth?: boolean;
  body?: string;
  /** Another build of shipshape to run instead of this checkout's (BENCH_BASELINE). */
  root?: string;
  /** Settings given to this case's servers on top of the bench's own (BENCH_BASELINE_ENV). */
  env?: Record<string, string>;
}

const NOTE_BODY = JSON.stringify({ title: 'bench', body: 'A note written by the benchmark under load.' });

const SHIPSHAPE_CASES: Case[] = [1, 2].flatMap((workers): Case[] => [
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
]);

/**
 * BENCH_BASELINE_ENV, `NAME=value` pairs separated by spaces: settings for the baseline's servers only, so a
 * setting can be weighed against its default in one run (BENCH_BASELINE set to a build of the same revision).
 */
export function parseBaselineEnv(raw: string | undefined): Record<string, string> {
  const env: Record<string, string> = {};
  for (const pair of (raw ?? '').split(/\s+/).filter(Boolean)) {
    const match = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(pair);
    if (!match) throw new Error(`BENCH_BASELINE_ENV: ${pair} is not NAME=value`);
    env[match[1]!] = match[2]!;
  }
  return env;
}

/** The reference servers, shipshape's cases, and the baseline build's copies of them when one is given. */
export function allCases(baseline: string | undefined, baselineEnv: Record<string, string> = {}): Case[] {
  return [
    { id: 'raw', label: 'raw node:http hello', kind: 'raw', workers: 1, method: 'GET', path: '/' },
    {
      id: 'express',
      label: 'bare Express 5 hello (defaults)',
      kind: 'express',
      workers: 1,
      method: 'GET',
      path: '/',
    },
    {
      id: 'express-pg',
      label: 'bare Express 5 + pg, GET /api/v1/notes (20)',
      kind: 'express-pg',
      workers: 1,
      method: 'GET',
      path: '/api/v1/notes',
      auth: true,
    },
    {
      id: 'fastify-pg',
      label: 'Fastify 5 + pg, GET /api/v1/notes (20)',
      kind: 'fastify-pg',
      workers: 1,
      method: 'GET',
      path: '/api/v1/notes',
      auth: true,
    },
    ...SHIPSHAPE_CASES,
    ...(baseline
      ? SHIPSHAPE_CASES.map((c) => ({
          ...c,
          id: `${c.id}-base`,
          label: `${c.label} [baseline]`,
          root: baseline,
          env: baselineEnv,
        }))
      : []),
  ];
}

/** BENCH_CASES picks shipshape cases by id (their baseline copies follow); the reference servers always run. */
export function selectCases(cases: Case[], only: string[] | undefined): Case[] {
  return cases.filter((c) => !only || only.includes(c.id.replace(/-base$/, '')) || c.kind !== 'shipshape');
}
