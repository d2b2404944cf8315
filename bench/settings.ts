/** The run's settings, from the command line and the environment (bench/run.ts lists them). */

function numberFrom(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number, not ${raw}`);
  return value;
}

export interface Settings {
  quick: boolean;
  seconds: number;
  warmupSeconds: number;
  connections: number;
  rounds: number;
  /** A sample taken while other processes used more CPU than this (in cores) is thrown away. */
  maxForeignCores: number;
  retries: number;
  rateLimitMax: number;
}

export function readSettings(argv = process.argv): Settings {
  const quick = argv.includes('--quick');
  const seconds = quick ? 1 : numberFrom('BENCH_SECONDS', 10);
  const warmupSeconds = quick ? 1 : numberFrom('BENCH_WARMUP_SECONDS', 3);
  return {
    quick,
    seconds,
    warmupSeconds,
    connections: quick ? 10 : numberFrom('BENCH_CONNECTIONS', 50),
    rounds: quick ? 1 : numberFrom('BENCH_ROUNDS', 3),
    maxForeignCores: numberFrom('BENCH_MAX_FOREIGN_CPU', 0.15),
    retries: quick ? 0 : 2,
    /**
     * The general limit keeps its production window (60 s) and stays on: every request still goes through the
     * limiter and its store. Only the count is raised, to what one address can send at 30,000 req/s over a
     * server's whole life in the bench (warm-up plus run, the counters start afresh with each server), so the
     * figures measure answers, not 429s. Health probes are never rate limited, as in production.
     */
    rateLimitMax: numberFrom('BENCH_RATE_LIMIT_MAX', Math.ceil(30_000 * (seconds + warmupSeconds))),
  };
}
