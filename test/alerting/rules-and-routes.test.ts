import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { REPO, runCommand } from '../support/processes';
import { reportFigure } from '../support/report';
import {
  MONITORING,
  metricNames,
  provisionedNodeExporterArgs,
  RULE_FILES,
  type Service,
  seconds,
  startNodeExporter,
} from './support/stack';

/**
 * The monitoring assets read by their own tools: promtool for the rules, amtool for the routes, node-exporter
 * started with the provisioned arguments, docker-compose for the compose service. The drill that sends alerts
 * through all of them is alert-path.test.ts.
 */
jest.setTimeout(180_000);

const PROMETHEUS_DIR = join(MONITORING, 'prometheus');
const ALERTMANAGER_CONFIG = join(MONITORING, 'alertmanager/alertmanager.yml');

interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

const rulesOf = (file: string): Rule[] =>
  (parse(readFileSync(join(PROMETHEUS_DIR, file), 'utf8')) as { groups: { rules: Rule[] }[] }).groups.flatMap(
    (g) => g.rules,
  );
const allRules = RULE_FILES.flatMap(rulesOf);

async function ok(command: string, args: string[], cwd = REPO) {
  const result = await runCommand(command, args, { cwd, timeoutMs: 120_000 });
  if (result.status !== 0)
    throw new Error(
      `${command} ${args.join(' ')} exited ${result.status}\n${result.stdout}\n${result.stderr}`,
    );
  return result;
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens. */
const anchor = (heading: string) =>
  heading
    .toLowerCase()
    .replace(/[^\w\- ]/g, '')
    .replace(/ /g, '-');

describe('OBS-11: host alert rules', () => {
  test('OBS-11: when promtool checks every rule file and the Prometheus configuration and unit-tests the host and app alerts, then all pass', async () => {
    for (const file of RULE_FILES) await ok('promtool', ['check', 'rules', file], PROMETHEUS_DIR);
    // backup-alerts.test.yml takes a minute (35 days of series): .ci/steps/45-monitoring.sh runs it.
    for (const file of ['host-alerts.test.yml', 'alerts.test.yml'])
      await ok('promtool', ['test', 'rules', file], PROMETHEUS_DIR);
    await ok('promtool', ['check', 'config', 'prometheus.yml'], PROMETHEUS_DIR);
    expect(
      (parse(readFileSync(join(PROMETHEUS_DIR, 'prometheus.yml'), 'utf8')) as { rule_files: string[] })
        .rule_files,
    ).toEqual(RULE_FILES);
  });

  test('OBS-11: when the host rules are read, then disk, memory, CPU, disk I/O, network, clock and systemd units are each watched, and each alert has a firing and a quiet promtool case', () => {
    const host = rulesOf('host-alerts.yml');
    const watched = (metric: string) => host.filter((r) => r.expr.includes(metric)).map((r) => r.alert);
    expect(watched('node_filesystem_avail_bytes')).toEqual([
      'ShipshapeDiskSpaceCritical',
      'ShipshapeDiskFillingUp',
    ]);
    expect(host.find((r) => r.alert === 'ShipshapeDiskSpaceCritical')!.expr).toMatch(/< 0\.10\b/);
    expect(host.find((r) => r.alert === 'ShipshapeDiskSpaceCritical')!.labels.severity).toBe('critical');
    expect(host.find((r) => r.alert === 'ShipshapeDiskFillingUp')!.expr).toMatch(/predict_linear\(/);
    expect(host.find((r) => r.alert === 'ShipshapeMemoryHigh')!.expr).toMatch(
      /MemAvailable_bytes.*> 0\.80\b/s,
    );
    for (const metric of [
      'node_cpu_seconds_total',
      'node_disk_io_time_seconds_total',
      'node_network_receive_errs_total',
      'node_timex_sync_status',
      'node_timex_offset_seconds',
      'node_systemd_unit_state',
    ])
      expect(watched(metric).length).toBeGreaterThan(0);

    for (const file of RULE_FILES) {
      const tests = parse(
        readFileSync(join(PROMETHEUS_DIR, file.replace(/\.yml$/, '.test.yml')), 'utf8'),
      ) as {
        tests: { alert_rule_test?: { alertname: string; exp_alerts: unknown[] }[] }[];
      };
      const cases = tests.tests.flatMap((t) => t.alert_rule_test ?? []);
      const untested = rulesOf(file)
        .map((r) => r.alert)
        .filter(
          (name) =>
            !cases.some((c) => c.alertname === name && c.exp_alerts.length > 0) ||
            !cases.some((c) => c.alertname === name && c.exp_alerts.length === 0),
        );
      expect({ file, untested }).toEqual({ file, untested: [] });
    }
  });

  test('OBS-11, OBS-12: when every shipped alert is read, then it is critical or warning, waits at least a minute before firing, and links a runbook section that exists', () => {
    const headings = new Set(
      [...readFileSync(join(REPO, 'docs/alerting.md'), 'utf8').matchAll(/^#{2,4} (.+)$/gm)].map((m) =>
        anchor(m[1]!),
      ),
    );
    const wrong = allRules.flatMap((rule) => {
      const problems: string[] = [];
      if (!['critical', 'warning'].includes(rule.labels.severity ?? '')) problems.push('severity');
      if (rule.for === undefined || seconds(rule.for) < 60) problems.push(`for: ${rule.for}`);
      const [file, section] = (rule.annotations.runbook_url ?? '').split('#');
      if (file !== 'docs/alerting.md' || !headings.has(section ?? ''))
        problems.push(`runbook ${rule.annotations.runbook_url}`);
      return problems.map((p) => `${rule.alert}: ${p}`);
    });
    expect(allRules.length).toBeGreaterThan(25);
    expect(wrong).toEqual([]);
  });
});

describe('OBS-12: Alertmanager routes', () => {
  test('OBS-12: when amtool checks the Alertmanager configuration and its templates, then it passes', async () => {
    const result = await ok('amtool', ['check-config', ALERTMANAGER_CONFIG]);
    expect(result.stdout).toMatch(/SUCCESS/);
    expect(result.stdout).toMatch(/- 1 templates/);
  });

  test('OBS-12: when amtool routes each shipped alert, then a critical reaches the pager and the chat, a warning only the chat', async () => {
    const expected = { critical: 'pager,team-chat', warning: 'team-chat' } as Record<string, string>;
    const routed: string[] = [];
    for (const rule of allRules) {
      const labels = Object.entries({ alertname: rule.alert, instance: 'h', ...rule.labels }).map(
        ([k, v]) => `${k}=${v}`,
      );
      const result = await runCommand('amtool', [
        'config',
        'routes',
        'test',
        `--config.file=${ALERTMANAGER_CONFIG}`,
        `--verify.receivers=${expected[rule.labels.severity!]}`,
        ...labels,
      ]);
      routed.push(`${rule.alert} -> ${result.stdout.trim()} (exit ${result.status})`);
    }
    const wrong = routed.filter((line) => !/ -> (pager,team-chat|team-chat) \(exit 0\)$/.test(line));
    expect(wrong).toEqual([]);
    // An alert nobody labelled still reaches someone.
    const unlabelled = await ok('amtool', [
      'config',
      'routes',
      'test',
      `--config.file=${ALERTMANAGER_CONFIG}`,
      'alertname=Unknown',
    ]);
    expect(unlabelled.stdout.trim()).toBe('team-chat');
    reportFigure(
      `[alerting] amtool routed ${routed.length} shipped alerts: ${routed.filter((l) => l.includes('pager')).length} page`,
    );
  });

  test('OBS-12: when the receivers are read, then no URL, key or password is in the file: each integration reads its secret from a file', () => {
    const config = parse(readFileSync(ALERTMANAGER_CONFIG, 'utf8')) as {
      route: { group_by: string[]; group_wait: string; group_interval: string; repeat_interval: string };
      receivers: Record<string, unknown>[];
    };
    const secretKeys = /^(url|api_url|routing_key|service_key|auth_password|auth_secret|webhook_url|token)$/;
    const integrations = config.receivers.flatMap(({ name, ...kinds }) =>
      Object.entries(kinds).flatMap(([kind, list]) =>
        (list as Record<string, unknown>[]).map((integration) => ({
          name,
          kind,
          keys: Object.keys(integration),
        })),
      ),
    );
    expect(integrations.map((i) => i.name).sort()).toEqual(['pager', 'team-chat']);
    for (const integration of integrations) {
      expect(integration.keys.filter((k) => secretKeys.test(k))).toEqual([]);
      expect(integration.keys.some((k) => k.endsWith('_file'))).toBe(true);
    }
    expect(config.route.group_by).toEqual(['alertname', 'instance']);
    expect(seconds(config.route.group_wait)).toBeLessThanOrEqual(60);
    expect(seconds(config.route.repeat_interval)).toBeGreaterThanOrEqual(3600);
  });
});

describe('OBS-11: node-exporter as provisioned', () => {
  let dir: string;
  let exporter: Service | undefined;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'shipshape-node-exporter-'));
  });
  afterAll(async () => {
    await exporter?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('OBS-11: when node-exporter runs with the provisioned arguments, then it listens on loopback only and serves the host metrics the rules use beside the backup metrics backup-lib.sh writes', async () => {
    const args = provisionedNodeExporterArgs();
    expect(args).toContain('--web.listen-address=127.0.0.1:9100');
    expect(args).toContain('--collector.textfile.directory=/var/lib/prometheus/node-exporter');
    // The backup scripts' own helper writes the file, the way a restore drill does.
    const written = await runCommand(
      'bash',
      [
        '-c',
        'set -euo pipefail; source deploy/backup-lib.sh; outcome_metrics shipshape_restore_drill "the restore drill" 1 "$(date +%s)" duration_seconds | write_metrics shipshape_restore_drill',
      ],
      { env: { ...process.env, METRICS_TEXTFILE_DIR: dir } },
    );
    expect(written.status).toBe(0);
    expect(readdirSync(dir)).toEqual(['shipshape_restore_drill.prom']);

    exporter = await startNodeExporter(dir);
    const scrape = await (await fetch(`${exporter.url}/metrics`)).text();
    const names = metricNames(scrape);
    const used = [
      ...new Set(
        rulesOf('host-alerts.yml')
          .flatMap((r) => [...r.expr.matchAll(/\b(node_\w+)\{/g)].map((m) => m[1]!))
          .filter((name) => name !== 'node_systemd_unit_state'),
      ),
    ];
    expect(used.filter((name) => !names.has(name))).toEqual([]);
    expect(scrape).toMatch(/^shipshape_restore_drill_last_run_success 1$/m);
    expect(scrape).toMatch(/^node_textfile_scrape_error 0$/m);
    // The systemd collector is enabled as provisioned (it cannot reach systemd on this machine).
    expect(scrape).toMatch(/^node_scrape_collector_success\{collector="systemd"\} [01]$/m);
    reportFigure(
      `[alerting] node-exporter scrape: ${Buffer.byteLength(scrape)} bytes, ${names.size} metric names`,
    );
  });

  test("OBS-11: when the systemd collector's unit filter is read, then it takes every shipped shipshape unit and PostgreSQL, and leaves other units out", () => {
    const include = provisionedNodeExporterArgs()
      .find((a) => a.startsWith('--collector.systemd.unit-include='))!
      .split('=')[1]!;
    // node-exporter anchors the expression at both ends.
    const matches = (unit: string) => new RegExp(`^(?:${include})$`).test(unit);
    const shipped = readdirSync(join(REPO, 'systemd')).filter((name) => /\.(service|timer)$/.test(name));
    expect(shipped.length).toBeGreaterThan(10);
    expect(shipped.filter((unit) => !matches(unit))).toEqual([]);
    expect(matches('postgresql@15-main.service')).toBe(true);
    expect(matches('prometheus-node-exporter.service')).toBe(true);
    expect(['ssh.service', 'cron.service', 'shipshape.socket', 'shipshapes.service'].filter(matches)).toEqual(
      [],
    );
  });

  test('OBS-11: when docker-compose reads the production file with the monitoring profile, then node-exporter sees the host read-only and answers on its loopback only', async () => {
    const env = { ...process.env, APP_VERSION: '0.1.0' };
    const withProfile = await runCommand(
      'docker-compose',
      ['-f', 'docker-compose.prod.yml', '--profile', 'monitoring', 'config'],
      { env },
    );
    expect(withProfile.stderr).toBe('');
    expect(withProfile.status).toBe(0);
    const service = (parse(withProfile.stdout) as { services: Record<string, Record<string, unknown>> })
      .services['node-exporter']!;
    expect(service.profiles).toEqual(['monitoring']);
    expect(service.network_mode).toBe('host');
    expect(service.read_only).toBe(true);
    expect(service.cap_drop).toEqual(['ALL']);
    expect(service.volumes).toEqual(['/:/host:ro,rslave']);
    expect(service.command).toContain('--web.listen-address=127.0.0.1:9100');
    expect(service.image).toMatch(/node-exporter:v\d+\.\d+\.\d+$/);
  });
});
