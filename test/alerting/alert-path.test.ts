import { mkdirSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type AppProcess, stopApp, waitForWorkers } from '../faults/support/app';
import { send, signUp } from '../faults/support/client';
import { useFaultRig } from '../faults/support/rig';
import { freePort } from '../support/net';
import { reportFigure } from '../support/report';
import { sleep, waitFor } from '../support/waiting';
import {
  MONITORING,
  type Notification,
  type Service,
  startAlertmanager,
  startNodeExporter,
  startPrometheus,
  TIME_SCALE,
  targetHealth,
  type WebhookReceiver,
  webhookReceiver,
} from './support/stack';

/**
 * The alert path drilled end to end: the built app on its own PostgreSQL 15, a real node-exporter with the
 * provisioned arguments, a real Prometheus with the shipped rule files (their `for:` on the drill's clock, a
 * minute per second) and a real Alertmanager with the shipped routes and inhibitions, its pager and chat
 * receivers rewritten to webhooks served by this test. Faults are real: PostgreSQL stopped, the app stopped,
 * a broken file in node-exporter's textfile directory.
 */
jest.setTimeout(240_000);

const rig = useFaultRig();
let dir: string;
let textfileDir: string;
let receiver: WebhookReceiver;
let nodeExporter: Service;
let alertmanager: Service;
let prometheus: Service;
let app: AppProcess;
let metricsPort: number;
let token: string;
let trafficRunning = true;
let traffic: Promise<void>;

/** What a healthy host's backup jobs leave in the textfile directory: the backup alerts stay quiet. */
function writeHealthyBackupMetrics() {
  const now = Math.floor(Date.now() / 1000);
  writeFileSync(
    join(textfileDir, 'shipshape_backup.prom'),
    [
      `shipshape_backup_last_success_timestamp_seconds{type="full"} ${now}`,
      `shipshape_wal_last_archived_timestamp_seconds ${now}`,
      `shipshape_backup_offhost_last_success_timestamp_seconds ${now}`,
      `shipshape_restore_drill_last_success_timestamp_seconds ${now}`,
      '',
    ].join('\n'),
  );
}

const startTheApp = async () => {
  const started = await rig.start({ METRICS_PORT: String(metricsPort), WEB_CONCURRENCY: '1' });
  await waitForWorkers(started, 1);
  return started;
};

/** A client calling an endpoint that needs the database, 20 times a second, for the whole file. */
async function keepCalling() {
  while (trafficRunning) {
    try {
      await send(`${app.url}/api/v1/users/me`, {
        headers: { authorization: `Bearer ${token}` },
        timeoutMs: 5_000,
      });
    } catch {
      // the app is stopped in one test: refused connections are expected then
    }
    await sleep(50);
  }
}

const alertsIn = (n: Notification, alertname: string, status: 'firing' | 'resolved') =>
  n.alerts.filter((a) => a.labels.alertname === alertname && a.status === status);

/** The first notification at /<receiverName>, after `since`, carrying `alertname` in `status`. */
function notification(
  receiverName: string,
  alertname: string,
  status: 'firing' | 'resolved',
  since: number,
  timeoutMs = 120_000,
) {
  return waitFor(
    `${status} ${alertname} at ${receiverName}`,
    async () =>
      receiver.received.find(
        (n) => n.path === `/${receiverName}` && n.at >= since && alertsIn(n, alertname, status).length > 0,
      ),
    { timeoutMs, intervalMs: 100 },
  );
}

const heard = (alertname: string, where?: string) =>
  receiver.received.filter(
    (n) =>
      (where === undefined || n.path === `/${where}`) &&
      n.alerts.some((a) => a.labels.alertname === alertname),
  );

/** Prometheus's own alert states, to know a rule fired even when Alertmanager held it back. */
async function firingInPrometheus(alertname: string): Promise<boolean> {
  const reply = (await (await fetch(`${prometheus.url}/api/v1/alerts`)).json()) as {
    data: { alerts: { labels: Record<string, string>; state: string }[] };
  };
  return reply.data.alerts.some((a) => a.labels.alertname === alertname && a.state === 'firing');
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'shipshape-alerting-'));
  textfileDir = join(dir, 'textfile');
  mkdirSync(textfileDir);
  writeHealthyBackupMetrics();
  receiver = await webhookReceiver();
  nodeExporter = await startNodeExporter(textfileDir);
  metricsPort = await freePort();
  app = await startTheApp();
  token = await signUp(app.url);
  alertmanager = await startAlertmanager(dir, receiver.url);
  prometheus = await startPrometheus(dir, {
    node: nodeExporter.url.replace('http://', ''),
    shipshape: `127.0.0.1:${metricsPort}`,
    alertmanager: alertmanager.url.replace('http://', ''),
  });
  await waitFor('Prometheus to scrape the app and node-exporter', async () => {
    const health = await targetHealth(prometheus);
    return health.node === 'up' && health.shipshape === 'up' ? true : undefined;
  });
  traffic = keepCalling();
  // A few seconds of good traffic, so the error ratio has a denominator before the fault.
  await sleep(3_000);
});

afterAll(async () => {
  trafficRunning = false;
  await traffic;
  for (const service of [prometheus, alertmanager, nodeExporter]) await service?.stop();
  await receiver?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('OBS-9, OBS-11: the dashboard on a live Prometheus', () => {
  test("OBS-9, OBS-11: when every query of the Grafana dashboard runs on the drill's Prometheus, then each is valid and every panel of the host row shows data", async () => {
    const dashboard = JSON.parse(
      readFileSync(join(MONITORING, 'grafana/shipshape-dashboard.json'), 'utf8'),
    ) as {
      panels: { type: string; title: string; gridPos: { y: number }; targets?: { expr: string }[] }[];
      templating: { list: { name: string; query: string }[] };
    };
    const hostRow = dashboard.panels.find((p) => p.type === 'row' && /^Host/.test(p.title));
    expect(hostRow).toBeDefined();
    const query = async (expr: string) => {
      const promql = expr
        .replaceAll('$job', 'shipshape')
        .replaceAll('$node', '.*')
        .replaceAll('$__rate_interval', '1m');
      const reply = (await (
        await fetch(`${prometheus.url}/api/v1/query?query=${encodeURIComponent(promql)}`)
      ).json()) as { status: string; error?: string; data?: { result: unknown[] } };
      return { promql, ...reply, series: reply.data?.result.length ?? 0 };
    };
    const results = [];
    for (const panel of dashboard.panels)
      for (const target of panel.targets ?? [])
        results.push({ panel, host: panel.gridPos.y > hostRow!.gridPos.y, ...(await query(target.expr)) });
    const invalid = results.filter((r) => r.status !== 'success').map((r) => `${r.panel.title}: ${r.error}`);
    expect(invalid).toEqual([]);
    const hostQueries = results.filter((r) => r.host);
    expect(hostQueries.length).toBeGreaterThanOrEqual(6);
    const empty = hostQueries.filter((r) => r.series === 0).map((r) => `${r.panel.title}: ${r.promql}`);
    expect(empty).toEqual([]);
    // The host picker's variable lists node-exporter's instance.
    const picker = dashboard.templating.list.find((v) => v.name === 'node')!;
    const [, metric, selector] = /label_values\((\w+)(\{[^}]*\})?, instance\)/.exec(picker.query)!;
    expect((await query(`${metric}${selector ?? ''}`)).series).toBeGreaterThan(0);
    reportFigure(
      `[alerting] dashboard: ${results.length} queries valid on Prometheus 2.42, ${hostQueries.length} host-row queries all with data`,
    );
  });
});

describe('OBS-12: the alert path, drilled end to end', () => {
  test('OBS-12: when the database stops and the app answers 503, then the error-rate page reaches the pager and the chat with its labels and runbook, and its warning twin is held back', async () => {
    const fault = Date.now();
    rig.pg.stop();
    // Started again whatever happens, so the next test's app finds its database.
    try {
      const page = await notification('pager', 'ShipshapeHighErrorRate', 'firing', fault);
      reportFigure(
        `[alerting] PostgreSQL stopped -> ShipshapeHighErrorRate at the pager: ${page.at - fault} ms (for: 5m run as 5 s, scrape and evaluation every 1 s, group_wait 30 s as 1 s)`,
      );
      const [alert] = alertsIn(page, 'ShipshapeHighErrorRate', 'firing');
      expect(alert!.labels).toEqual({
        alertname: 'ShipshapeHighErrorRate',
        job: 'shipshape',
        severity: 'critical',
        symptom: 'error-rate',
      });
      expect(alert!.annotations.runbook_url).toBe('docs/alerting.md#shipshapehigherrorrate');
      expect(alert!.annotations.summary).toMatch(/^\d+(\.\d+)?% of requests fail with 5xx$/);
      await notification('team-chat', 'ShipshapeHighErrorRate', 'firing', fault, 10_000);

      // The 1 % warning fires in Prometheus too, but Alertmanager holds it back behind the 5 % page.
      await waitFor('ShipshapeElevatedErrorRate to fire in Prometheus', async () =>
        (await firingInPrometheus('ShipshapeElevatedErrorRate')) ? true : undefined,
      );
      await sleep(5_000);
      expect(heard('ShipshapeElevatedErrorRate')).toEqual([]);
    } finally {
      rig.pg.start();
    }
    await waitFor('the API to answer 200 again', async () => {
      const reply = await send(`${app.url}/api/v1/users/me`, {
        headers: { authorization: `Bearer ${token}` },
      });
      return reply.status === 200 ? true : undefined;
    });
  });

  test('OBS-12: when the app stops, then ShipshapeInstanceDown pages, and when it is back, then the pager hears it resolved', async () => {
    const fault = Date.now();
    await stopApp(app);
    const exited = Date.now();
    const page = await notification('pager', 'ShipshapeInstanceDown', 'firing', fault);
    const [alert] = alertsIn(page, 'ShipshapeInstanceDown', 'firing');
    expect(alert!.labels).toEqual({
      alertname: 'ShipshapeInstanceDown',
      instance: `127.0.0.1:${metricsPort}`,
      job: 'shipshape',
      severity: 'critical',
    });
    expect(alert!.annotations.runbook_url).toBe('docs/alerting.md#shipshapeinstancedown');
    // Alertmanager sends to each receiver on its own: the chat's copy may come a moment after the page.
    await notification('team-chat', 'ShipshapeInstanceDown', 'firing', fault, 10_000);

    const repair = Date.now();
    app = await startTheApp();
    const resolved = await notification('pager', 'ShipshapeInstanceDown', 'resolved', repair);
    reportFigure(
      `[alerting] app stopped (SIGTERM; exited after ${exited - fault} ms) -> ShipshapeInstanceDown at the pager: ${page.at - fault} ms; restarted -> resolved at the pager: ${resolved.at - repair} ms (app start-up included)`,
    );
    expect(alertsIn(resolved, 'ShipshapeInstanceDown', 'resolved')[0]!.labels.severity).toBe('critical');
  });

  test('OBS-11, OBS-12: when node-exporter cannot read a file of its textfile directory, then the host warning reaches the chat and not the pager, and resolves when the file is gone', async () => {
    const fault = Date.now();
    writeFileSync(join(textfileDir, 'broken.prom'), 'this is not a metric line\n');
    const chat = await notification('team-chat', 'ShipshapeTextfileMetricsBroken', 'firing', fault);
    const [alert] = alertsIn(chat, 'ShipshapeTextfileMetricsBroken', 'firing');
    expect(alert!.labels).toMatchObject({ job: 'node', severity: 'warning' });
    expect(alert!.annotations.runbook_url).toBe('docs/alerting.md#shipshapetextfilemetricsbroken');

    const repair = Date.now();
    unlinkSync(join(textfileDir, 'broken.prom'));
    const resolved = await notification('team-chat', 'ShipshapeTextfileMetricsBroken', 'resolved', repair);
    reportFigure(
      `[alerting] broken textfile -> ShipshapeTextfileMetricsBroken in the chat: ${chat.at - fault} ms (for: 15m run as 15 s); removed -> resolved: ${resolved.at - repair} ms`,
    );
    expect(heard('ShipshapeTextfileMetricsBroken', 'pager')).toEqual([]);
  });

  test("OBS-12: when an instance is down and a disk is critical, then Alertmanager holds back that instance's latency page and that disk's warning, and still sends another disk's warning", async () => {
    const since = Date.now();
    const alert = (labels: Record<string, string>) => ({
      labels: { job: 'inhibit-drill', instance: 'h', ...labels },
      annotations: { summary: 'posted by the inhibition drill' },
      startsAt: new Date().toISOString(),
    });
    const posted = await fetch(`${alertmanager.url}/api/v2/alerts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([
        alert({ alertname: 'ShipshapeInstanceDown', severity: 'critical' }),
        alert({ alertname: 'ShipshapeHighLatency', severity: 'critical', symptom: 'latency' }),
        alert({
          alertname: 'ShipshapeDiskSpaceCritical',
          severity: 'critical',
          symptom: 'disk-space',
          mountpoint: '/',
        }),
        alert({
          alertname: 'ShipshapeDiskFillingUp',
          severity: 'warning',
          symptom: 'disk-space',
          mountpoint: '/',
        }),
        alert({
          alertname: 'ShipshapeDiskFillingUp',
          severity: 'warning',
          symptom: 'disk-space',
          mountpoint: '/data',
        }),
      ]),
    });
    expect(posted.status).toBe(200);
    await notification('pager', 'ShipshapeInstanceDown', 'firing', since, 30_000);
    await notification('pager', 'ShipshapeDiskSpaceCritical', 'firing', since, 30_000);
    const otherDisk = await notification('team-chat', 'ShipshapeDiskFillingUp', 'firing', since, 30_000);
    // Well past group_wait (1 s here): had they not been held back, they would have been sent by now.
    await sleep(5 * (30 / TIME_SCALE) * 1_000 + 2_000);
    const drill = (n: Notification) => n.alerts.filter((a) => a.labels.job === 'inhibit-drill');
    const sent = receiver.received
      .filter((n) => n.at >= since)
      .flatMap(drill)
      .map((a) => `${a.labels.alertname} ${a.labels.mountpoint ?? ''}`.trim());
    expect(new Set(sent)).toEqual(
      new Set(['ShipshapeInstanceDown', 'ShipshapeDiskSpaceCritical /', 'ShipshapeDiskFillingUp /data']),
    );
    expect(drill(otherDisk).every((a) => a.labels.mountpoint === '/data')).toBe(true);
  });
});
