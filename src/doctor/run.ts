import { ConfigError } from '../config/index.js';
import { CannotRun, type Check, type Context, type Finding } from './types.js';

/** Runs the checks one after another (they share one database connection); a check that throws is a failure. */
export async function runChecks(checks: Check[], context: Context): Promise<Finding[]> {
  const findings: Finding[] = [];
  for (const check of checks) {
    const started = performance.now();
    const outcome = await check.run(context).catch((error: unknown) =>
      error instanceof CannotRun || error instanceof ConfigError
        ? {
            status: 'skip' as const,
            detail:
              error instanceof CannotRun ? error.message : 'the configuration is refused (config.refusals)',
          }
        : {
            status: 'fail' as const,
            detail: `could not complete: ${error instanceof Error ? error.message : String(error)}`,
          },
    );
    const { run: _run, ...about } = check;
    findings.push({ ...about, ...outcome, durationMs: Math.round(performance.now() - started) });
  }
  return findings;
}

export function summary(findings: Finding[]) {
  const count = (status: string) => findings.filter((finding) => finding.status === status).length;
  return { pass: count('pass'), warn: count('warn'), fail: count('fail'), skip: count('skip') };
}
