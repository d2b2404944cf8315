import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { runCommand } from './support/processes';

/**
 * The CI scripts' own decisions, run for real with bash: what fails the build and what may be skipped. A stand-in
 * `npm` first on PATH plays the registry's answers, since the real one cannot be made to fail on demand.
 */

const workflow = parse(readFileSync('.github/workflows/ci.yml', 'utf8')) as {
  jobs: Record<string, { steps: { run?: string; 'continue-on-error'?: unknown }[] }>;
};

let fakeBin: string;
beforeAll(() => {
  fakeBin = mkdtempSync(join(tmpdir(), 'shipshape-ci-'));
});
afterAll(() => rmSync(fakeBin, { recursive: true, force: true }));

/** Runs .ci/audit.sh with an `npm` that prints `output` and exits with `status`. */
function auditWith(output: string, status: number) {
  const npm = join(fakeBin, 'npm');
  writeFileSync(npm, `#!/bin/sh\ncat <<'OUT'\n${output}\nOUT\nexit ${status}\n`);
  chmodSync(npm, 0o755);
  return runCommand('bash', ['.ci/audit.sh'], {
    env: { ...process.env, PATH: `${fakeBin}:${process.env.PATH}` },
  });
}

describe('SEC-12: the dependency audit', () => {
  test('when the workflow runs, then npm audit of production dependencies at level high is a blocking step', () => {
    const steps = Object.values(workflow.jobs).flatMap((job) => job.steps);
    const audit = steps.filter((step) => step.run === 'npm audit --omit=dev --audit-level=high');
    expect(audit).toHaveLength(1);
    expect(audit[0]?.['continue-on-error']).toBeUndefined();
  });

  test('when npm audit passes, then the step passes', async () => {
    const result = await auditWith('found 0 vulnerabilities', 0);
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/no high or critical advisories/);
  });

  test('when the registry answers 405, then the step reports a skip, not a pass', async () => {
    const result = await auditWith(
      'npm warn audit 405 Method Not Allowed - POST https://registry.example.test/-/npm/v1/security/advisories/bulk\nnpm error audit endpoint returned an error',
      1,
    );
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^SKIP: npm audit/);
  });

  test('when the audit endpoint fails otherwise, then the step fails', async () => {
    const result = await auditWith(
      'npm error code ECONNREFUSED\nnpm error audit endpoint returned an error',
      1,
    );
    expect(result.status).toBe(1);
    expect(result.stdout).toMatch(/ECONNREFUSED/);
  });

  test('when a high advisory is found, then the step fails and prints it', async () => {
    const result = await auditWith(
      '1 high severity vulnerability\nTo address all issues, run: npm audit fix',
      1,
    );
    expect(result.status).toBe(1);
    expect(result.stdout).toMatch(/1 high severity vulnerability/);
  });
});

describe('OPS-6: the CI entry point', () => {
  const ci = readFileSync('.ci/run', 'utf8');

  test('when .ci/run is read, then it installs with npm ci, checks lint and types, tests on both databases and runs every step', () => {
    const order = [
      /^npm ci\b/m,
      /^npm run lint$/m,
      /^npm run typecheck$/m,
      /^npm test$/m,
      /^TEST_DATABASE_URL="\$\(start_postgres\)"$/m,
      /^bash \.ci\/audit\.sh$/m,
      /^for step in \.ci\/steps\/\*\.sh; do$/m,
    ].map((pattern) => ci.search(pattern));
    expect(order.every((index) => index >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(ci.match(/^npm test$/gm)).toHaveLength(2);
    expect(ci).toMatch(/^set -euo pipefail$/m);
    expect(ci).toMatch(/export CI=true/);
  });

  test('when the containers step finds no container tools under CI=true, then it fails instead of skipping', async () => {
    const env = { ...process.env, CI: 'true', SHIPSHAPE_CONTAINER_TOOLS: join(fakeBin, 'no-such-tools') };
    const result = await runCommand('bash', ['.ci/steps/30-containers.sh'], { env });
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/^FAIL containers/m);
  });

  test('when the containers step finds no container tools on a developer machine, then it says it skipped', async () => {
    const env = { ...process.env, CI: '', SHIPSHAPE_CONTAINER_TOOLS: join(fakeBin, 'no-such-tools') };
    const result = await runCommand('bash', ['.ci/steps/30-containers.sh'], { env });
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^SKIP containers/m);
  });
});

test('OPS-7: when the manifests are checked offline against the Kubernetes schemas, then all pass', async () => {
  const result = await runCommand(process.execPath, ['scripts/check-kubernetes.mjs']);
  // The script reports on stderr either way; the status is the verdict.
  expect(result.stderr).toMatch(/^kubernetes: [1-9]\d* manifests valid/m);
  expect(result.status).toBe(0);
});
