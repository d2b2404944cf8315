import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import { REPO, runCommand } from '../support/processes';

/**
 * `npm run check:kubernetes` reads the autoscaler, the disruption budget, the spread and the database budget
 * together: the shipped manifests pass, and a copy with one rule broken fails naming it.
 */
const check = (dir?: string) =>
  runCommand(process.execPath, ['scripts/check-kubernetes.mjs', ...(dir ? [dir] : [])]);

/** A copy of kubernetes/ with one manifest's document edited. */
function brokenCopy(file: string, edit: (doc: ReturnType<typeof parseDocument>) => void): string {
  const dir = mkdtempSync(join(tmpdir(), 'shipshape-k8s-'));
  cpSync(join(REPO, 'kubernetes'), dir, { recursive: true });
  const doc = parseDocument(readFileSync(join(dir, file), 'utf8'));
  edit(doc);
  writeFileSync(join(dir, file), doc.toString());
  return dir;
}

const POD = ['spec', 'template', 'spec'];
const API = [...POD, 'containers', 0];

test('OPS-18: when the shipped manifests are checked, then the autoscaler, disruption budget, spread and database budget agree', async () => {
  const result = await check();
  expect(result.stderr).toMatch(/manifests valid .*scaling rules/);
  expect(result.status).toBe(0);
  const hpa = parseDocument(readFileSync(join(REPO, 'kubernetes', 'horizontal-pod-autoscaler.yaml'), 'utf8'));
  expect(hpa.getIn(['spec', 'minReplicas'])).toBeGreaterThanOrEqual(2);
  expect(readFileSync(join(REPO, 'kubernetes', 'kustomization.yaml'), 'utf8')).toContain(
    'horizontal-pod-autoscaler.yaml',
  );
});

test.each([
  [
    'the budget keeps as many pods as the autoscaler minimum',
    'pod-disruption-budget.yaml',
    (d: ReturnType<typeof parseDocument>) => d.setIn(['spec', 'minAvailable'], 2),
    /minAvailable 2 must be at least 1 and below the 2 pods/,
  ],
  [
    'the autoscaler may go down to one pod',
    'horizontal-pod-autoscaler.yaml',
    (d: ReturnType<typeof parseDocument>) => d.setIn(['spec', 'minReplicas'], 1),
    /minReplicas must be at least 2/,
  ],
  [
    'the autoscaler may open more connections than PostgreSQL has',
    'horizontal-pod-autoscaler.yaml',
    (d: ReturnType<typeof parseDocument>) => d.setIn(['spec', 'maxReplicas'], 20),
    /20 replicas x 1 workers x pool 10 = 200 database connections/,
  ],
  [
    'pods are not spread over nodes',
    'deployment.yaml',
    (d: ReturnType<typeof parseDocument>) => d.deleteIn([...POD, 'topologySpreadConstraints', 0]),
    /spread over kubernetes\.io\/hostname/,
  ],
  [
    'the autoscaled container has no CPU request',
    'deployment.yaml',
    (d: ReturnType<typeof parseDocument>) => d.deleteIn([...API, 'resources', 'requests', 'cpu']),
    /scales on cpu, which needs a cpu request/,
  ],
  [
    'the grace period is shorter than the drain',
    'deployment.yaml',
    (d: ReturnType<typeof parseDocument>) => d.setIn([...POD, 'terminationGracePeriodSeconds'], 12),
    /terminationGracePeriodSeconds 12 must exceed the preStop pause 5 s \+ SHUTDOWN_TIMEOUT_MS 10 s/,
  ],
])('OPS-18: when %s, then check:kubernetes fails and says so', async (_case, file, edit, message) => {
  const dir = brokenCopy(file, edit);
  try {
    const result = await check(dir);
    expect(result.stderr).toMatch(message);
    expect(result.status).toBe(1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
