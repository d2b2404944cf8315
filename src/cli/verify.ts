import { parseArgs } from 'node:util';
import { DEFAULT_THRESHOLDS, watch } from '../deploy-safety/watch.js';

const USAGE = `usage: node dist/cli/verify.js --metrics URL [options]   (deploy/verify.sh sets them from VERIFY_*)
  --metrics URL               the release's Prometheus metrics (http://127.0.0.1:9464/metrics)
  --ready URL                 its readiness probe (http://127.0.0.1:3000/health/ready)
  --prometheus URL            also fail on alerts that start firing during the window
  --window S --interval S     how long to watch, how often to look (default 60, 5)
  --warmup S                  count latency only from S seconds in; errors count at once (default 10)
  --max-window S              watch on, up to S seconds, while fewer than --min-requests arrived (default: --window)
  --max-error-ratio R         fail above this 5xx share (default ${DEFAULT_THRESHOLDS.maxErrorRatio})
  --p95-target-ms N           fail when a route's p95 is above N ms (default ${DEFAULT_THRESHOLDS.p95TargetSeconds * 1000})
  --p95-factor F              fail when a route's p95 is above F times the previous release's (default ${DEFAULT_THRESHOLDS.p95Factor})
  --p95-factor-floor-ms N     judge the factor only above N ms (default ${DEFAULT_THRESHOLDS.p95FactorFloorSeconds * 1000})
  --min-requests N            judge the error rate over at least N requests (default ${DEFAULT_THRESHOLDS.minRequests})
  --min-route-requests N      judge a route's p95 over at least N requests (default ${DEFAULT_THRESHOLDS.minRouteRequests})
  --ready-failures N          consecutive failed readiness probes that fail (default 2)
  --previous FILE             the previous release's p95, from a --baseline run before the switch
  --previous-json JSON        the same file's content (compose-deploy.sh: the new container cannot read the old one's)
  --baseline FILE             measure only: write the p95 by route to FILE
Exit status: 0 passed, 1 failed (the reasons on stderr), 64 bad usage. One JSON summary line on stdout.`;

const number = (value: string | undefined, fallback: number, name: string): number => {
  if (value === undefined || value === '') return fallback;
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed < 0)
    throw new Error(`--${name} must be a number >= 0, not ${value}`);
  return parsed;
};

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      metrics: { type: 'string' },
      ready: { type: 'string' },
      prometheus: { type: 'string' },
      window: { type: 'string' },
      'max-window': { type: 'string' },
      warmup: { type: 'string' },
      interval: { type: 'string' },
      'max-error-ratio': { type: 'string' },
      'p95-target-ms': { type: 'string' },
      'p95-factor': { type: 'string' },
      'p95-factor-floor-ms': { type: 'string' },
      'min-requests': { type: 'string' },
      'min-route-requests': { type: 'string' },
      'ready-failures': { type: 'string' },
      previous: { type: 'string' },
      'previous-json': { type: 'string' },
      baseline: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.error(USAGE);
    return 0;
  }
  if (!values.metrics) {
    console.error(USAGE);
    return 64;
  }
  const d = DEFAULT_THRESHOLDS;
  const outcome = await watch({
    metricsUrl: values.metrics,
    readyUrl: values.ready || undefined,
    prometheusUrl: values.prometheus || undefined,
    windowSeconds: number(values.window, 60, 'window'),
    warmupSeconds: number(values.warmup, 10, 'warmup'),
    maxWindowSeconds: number(values['max-window'], number(values.window, 60, 'window'), 'max-window'),
    intervalSeconds: Math.max(0.2, number(values.interval, 5, 'interval')),
    readyFailures: Math.max(1, number(values['ready-failures'], 2, 'ready-failures')),
    thresholds: {
      maxErrorRatio: number(values['max-error-ratio'], d.maxErrorRatio, 'max-error-ratio'),
      p95TargetSeconds: number(values['p95-target-ms'], d.p95TargetSeconds * 1000, 'p95-target-ms') / 1000,
      p95Factor: number(values['p95-factor'], d.p95Factor, 'p95-factor'),
      p95FactorFloorSeconds:
        number(values['p95-factor-floor-ms'], d.p95FactorFloorSeconds * 1000, 'p95-factor-floor-ms') / 1000,
      minRequests: number(values['min-requests'], d.minRequests, 'min-requests'),
      minRouteRequests: number(values['min-route-requests'], d.minRouteRequests, 'min-route-requests'),
    },
    previousFile: values.previous || undefined,
    previousJson: values['previous-json'] || undefined,
    baselineFile: values.baseline || undefined,
    say: (line) => console.error(line),
  });
  for (const note of outcome.notes) console.error(`verify: ${note}`);
  process.stdout.write(`${JSON.stringify(outcome)}\n`);
  if (outcome.failures.length > 0) {
    console.error(`verify: FAILED after ${outcome.seconds.toFixed(1)} s: ${outcome.failures.join('; ')}`);
    return 1;
  }
  console.error(
    values.baseline
      ? `verify: baseline written to ${values.baseline}`
      : `verify: passed (${outcome.requests} requests, ${outcome.serverErrors} 5xx in ${outcome.seconds.toFixed(0)} s)`,
  );
  return 0;
}

main(process.argv.slice(2)).then(
  (status) => process.exit(status),
  (error: unknown) => {
    console.error(`verify: FAILED: ${(error as Error).message}`);
    process.exit(error instanceof TypeError && /argument|option/i.test(String(error)) ? 64 : 1);
  },
);
