import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, openSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { send } from '../infra/support/http';
import { freePort } from '../support/net';
import { REPO, runCommand, stopChild } from '../support/processes';
import { waitFor } from '../support/waiting';

/**
 * verify.sh against a real Prometheus: an alert that starts firing during the watch fails the release, one that
 * was already firing when the watch began does not (it belongs to the release being replaced).
 */
jest.setTimeout(120_000);

const dir = mkdtempSync(join(tmpdir(), 'shipshape-alerts-'));
let prometheus: ChildProcess;
let url: string;

beforeAll(async () => {
  const port = await freePort();
  url = `http://127.0.0.1:${port}`;
  const startsAt = Math.floor(Date.now() / 1000) + 12;
  writeFileSync(
    join(dir, 'rules.yml'),
    `groups:
  - name: drill
    interval: 1s
    rules:
      - alert: DrillAlwaysFiring
        expr: vector(1)
      - alert: DrillStartsLater
        expr: vector(time()) > ${startsAt}
`,
  );
  writeFileSync(
    join(dir, 'prometheus.yml'),
    'global:\n  evaluation_interval: 1s\nrule_files:\n  - rules.yml\n',
  );
  prometheus = spawn(
    'prometheus',
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
    ],
    { stdio: ['ignore', 'ignore', openSync(join(dir, 'prometheus.log'), 'a')] },
  );
  await waitFor('Prometheus to fire its first alert', async () => {
    const body = JSON.parse((await send(`${url}/api/v1/alerts`)).text) as { data: { alerts: unknown[] } };
    return body.data.alerts.length > 0 ? true : undefined;
  });
});

afterAll(async () => {
  if (prometheus) await stopChild(prometheus);
});

test('OPS-12: when an alert starts firing during the watch, then verify.sh fails naming it, and an alert already firing does not count', async () => {
  const result = await runCommand(join(REPO, 'deploy', 'verify.sh'), [], {
    env: {
      ...process.env,
      VERIFY_CLI: join(REPO, 'dist', 'cli', 'verify.js'),
      // Prometheus' own metrics stand in for an idle release: no requests, so only the alerts can fail it.
      VERIFY_METRICS_URL: `${url}/metrics`,
      VERIFY_READY_URL: '',
      PROMETHEUS_URL: url,
      VERIFY_WINDOW: '40',
      VERIFY_INTERVAL: '1',
    },
  });
  expect(result.stderr).toMatch(
    /verify: FAILED after [\d.]+ s: alerts firing since the release: DrillStartsLater/,
  );
  expect(result.stderr).not.toContain('DrillAlwaysFiring');
  expect(result.status).toBe(1);
});
