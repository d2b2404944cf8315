import { type ChildProcess, spawn } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { freePort, listenOnLoopback } from '../../support/net';
import { REPO } from '../../support/processes';
import { waitFor } from '../../support/waiting';

export const MONITORING = join(REPO, 'monitoring');
/** Every rule file shipped in monitoring/prometheus/, so a new one that prometheus.yml does not load fails the suite. */
export const RULE_FILES = readdirSync(join(MONITORING, 'prometheus'))
  .filter((name) => name.endsWith('.yml') && !name.endsWith('.test.yml') && name !== 'prometheus.yml')
  .sort();

/**
 * The drill's clock: a minute of production is a second here. Applied to the `for:` of every shipped rule and
 * to Alertmanager's group_wait, group_interval and repeat_interval, nothing else.
 */
export const TIME_SCALE = 60;

const UNIT_SECONDS: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400 };

export function seconds(duration: string): number {
  const parts = [...duration.matchAll(/(\d+)(ms|s|m|h|d)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== duration)
    throw new Error(`not a duration: ${duration}`);
  return parts.reduce((sum, [, n, unit]) => sum + Number(n) * UNIT_SECONDS[unit!]!, 0);
}

/** A duration on the drill's clock, whole seconds, at least one. */
export const scaled = (duration: string) => `${Math.max(1, Math.ceil(seconds(duration) / TIME_SCALE))}s`;

/** The shipped rule file with every `for:` line scaled; every other line is left exactly as it is. */
export function rulesForDrill(text: string): string {
  return text.replace(/^(\s+for: )(\S+)$/gm, (_, head: string, duration: string) => head + scaled(duration));
}

export interface Notification {
  receiver: string;
  /** The receiver's path: /<receiver name>, as the rewritten configuration sends it. */
  path: string;
  at: number;
  status: 'firing' | 'resolved';
  alerts: {
    status: 'firing' | 'resolved';
    labels: Record<string, string>;
    annotations: Record<string, string>;
  }[];
}

export interface WebhookReceiver {
  url: string;
  received: Notification[];
  close(): Promise<void>;
}

/** Stands in for the pager and the chat: an HTTP server that keeps every webhook Alertmanager POSTs. */
export async function webhookReceiver(): Promise<WebhookReceiver> {
  const received: Notification[] = [];
  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Omit<Notification, 'path' | 'at'>;
    received.push({ ...body, path: req.url ?? '', at: Date.now() });
    res.writeHead(200).end();
  });
  const port = await listenOnLoopback(server);
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

interface Route {
  group_wait?: string;
  group_interval?: string;
  repeat_interval?: string;
  routes?: Route[];
}

/**
 * The shipped Alertmanager configuration with every receiver's integrations replaced by one webhook to
 * `${webhookUrl}/<receiver name>`, and the route timings on the drill's clock. Routes, matchers, grouping and
 * inhibition are the shipped ones.
 */
export function alertmanagerForDrill(webhookUrl: string): string {
  const config = parse(readFileSync(join(MONITORING, 'alertmanager/alertmanager.yml'), 'utf8')) as {
    route: Route;
    receivers: { name: string }[];
  };
  config.receivers = config.receivers.map(({ name }) => ({
    name,
    webhook_configs: [{ url: `${webhookUrl}/${name}`, send_resolved: true }],
  }));
  const scaleRoute = (route: Route) => {
    for (const key of ['group_wait', 'group_interval', 'repeat_interval'] as const)
      if (route[key]) route[key] = scaled(route[key]);
    route.routes?.forEach(scaleRoute);
  };
  scaleRoute(config.route);
  return stringify(config);
}

export interface Service {
  name: string;
  child: ChildProcess;
  url: string;
  output: string[];
  /** Set when the binary could not be started at all (not installed). */
  readonly failed: Error | undefined;
  stop(): Promise<void>;
}

/** Starts a monitoring binary, keeps its output for the failure message, and stops it by its pid. */
function startService(name: string, command: string, args: string[], url: string): Service {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const output: string[] = [];
  const keep = (chunk: Buffer) => {
    output.push(chunk.toString('utf8'));
    if (output.length > 200) output.shift();
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  let failed: Error | undefined;
  // A missing binary is a failure that names it, not a 30-second wait.
  child.once('error', (error) => {
    failed = error;
  });
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.once('error', () => resolve());
  });
  return {
    name,
    child,
    url,
    output,
    get failed() {
      return failed;
    },
    async stop() {
      if (failed || child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

async function ready(service: Service, path: string): Promise<Service> {
  await waitFor(
    `${service.name} to answer ${path}`,
    async () => {
      if (service.failed) throw new Error(`${service.name} could not start: ${service.failed.message}`);
      if (service.child.exitCode !== null)
        throw new Error(`${service.name} exited ${service.child.exitCode}: ${service.output.join('')}`);
      const reply = await fetch(`${service.url}${path}`);
      return reply.ok ? true : undefined;
    },
    { timeoutMs: 30_000 },
  );
  return service;
}

/** The provisioned node-exporter arguments (monitoring/node-exporter/prometheus-node-exporter.default), split. */
export function provisionedNodeExporterArgs(): string[] {
  const text = readFileSync(join(MONITORING, 'node-exporter/prometheus-node-exporter.default'), 'utf8');
  const args = /^ARGS="([^"]*)"$/m.exec(text)?.[1];
  if (args === undefined) throw new Error('no ARGS="..." line in prometheus-node-exporter.default');
  return args.split(/\s+/).filter(Boolean);
}

/**
 * prometheus-node-exporter with the provisioned arguments, moved to a free loopback port and a private textfile
 * directory. The systemd collector stays on, so its flags are parsed as provisioned; with no systemd as PID 1
 * here its scrapes fail (node_scrape_collector_success 0) and the other collectors carry on.
 */
export async function startNodeExporter(textfileDir: string): Promise<Service> {
  const port = await freePort();
  const args = provisionedNodeExporterArgs().map((arg) =>
    arg.startsWith('--web.listen-address=')
      ? `--web.listen-address=127.0.0.1:${port}`
      : arg.startsWith('--collector.textfile.directory=')
        ? `--collector.textfile.directory=${textfileDir}`
        : arg,
  );
  const service = startService('node-exporter', 'prometheus-node-exporter', args, `http://127.0.0.1:${port}`);
  return ready(service, '/metrics');
}

export async function startAlertmanager(dir: string, webhookUrl: string): Promise<Service> {
  mkdirSync(join(dir, 'am-data'), { recursive: true });
  cpSync(join(MONITORING, 'alertmanager/templates'), join(dir, 'templates'), { recursive: true });
  writeFileSync(join(dir, 'alertmanager.yml'), alertmanagerForDrill(webhookUrl));
  const port = await freePort();
  const service = startService(
    'alertmanager',
    'prometheus-alertmanager',
    [
      `--config.file=${join(dir, 'alertmanager.yml')}`,
      `--storage.path=${join(dir, 'am-data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--cluster.listen-address=',
    ],
    `http://127.0.0.1:${port}`,
  );
  return ready(service, '/-/ready');
}

/**
 * Prometheus on the shipped configuration's node and shipshape jobs, pointed at the drill's targets, scraping
 * and evaluating every second, with the shipped rule files on the drill's clock and the drill's Alertmanager.
 * The blackbox probes are left out (no blackbox exporter here; their alerts are covered by promtool tests).
 */
export async function startPrometheus(
  dir: string,
  targets: { node: string; shipshape: string; alertmanager: string },
): Promise<Service> {
  const shipped = parse(readFileSync(join(MONITORING, 'prometheus/prometheus.yml'), 'utf8')) as {
    rule_files: string[];
    scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[];
  };
  for (const file of shipped.rule_files)
    writeFileSync(join(dir, file), rulesForDrill(readFileSync(join(MONITORING, 'prometheus', file), 'utf8')));
  const jobs = shipped.scrape_configs
    .filter((job) => job.job_name === 'node' || job.job_name === 'shipshape')
    .map((job) => ({
      ...job,
      static_configs: [{ targets: [job.job_name === 'node' ? targets.node : targets.shipshape] }],
    }));
  const config = {
    global: { scrape_interval: '1s', evaluation_interval: '1s', scrape_timeout: '1s' },
    rule_files: shipped.rule_files,
    alerting: { alertmanagers: [{ static_configs: [{ targets: [targets.alertmanager] }] }] },
    scrape_configs: jobs,
  };
  writeFileSync(join(dir, 'prometheus.yml'), stringify(config));
  const port = await freePort();
  const service = startService(
    'prometheus',
    'prometheus',
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'prom-data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      // Firing alerts are re-sent every second, not every minute: the first ones, sent before the notifier
      // knew its Alertmanager, would otherwise wait a minute.
      '--rules.alert.resend-delay=1s',
    ],
    `http://127.0.0.1:${port}`,
  );
  return ready(service, '/-/ready');
}

/** Prometheus's view of its targets: job -> health ("up", "down", "unknown"). */
export async function targetHealth(prometheus: Service): Promise<Record<string, string>> {
  const reply = (await (await fetch(`${prometheus.url}/api/v1/targets`)).json()) as {
    data: { activeTargets: { labels: { job: string }; health: string }[] };
  };
  return Object.fromEntries(reply.data.activeTargets.map((t) => [t.labels.job, t.health]));
}

/** Metric names in a Prometheus text exposition. */
export function metricNames(scrape: string): Set<string> {
  return new Set(
    scrape
      .split('\n')
      .filter((line) => line && !line.startsWith('#'))
      .map((line) => line.split(/[{ ]/)[0]!),
  );
}
