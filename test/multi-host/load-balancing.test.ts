import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { migrate } from '../faults/support/app';
import { type PrivateNginx, privateNginx } from '../infra/support/nginx';
import { type PrivatePostgres, startPrivatePostgres } from '../support/postgres';
import { REPO, runCommand } from '../support/processes';
import { reportFigure } from '../support/report';
import { sleep, waitFor } from '../support/waiting';
import { type AppHost, appHost } from './support/hosts';
import { call, describeTally, type Edge, loopbackClients, signUp, steadyLoad } from './support/load';
import { type TcpProxy, tcpProxy } from './support/tcp-proxy';

/**
 * Three app hosts behind the shipped nginx site, rendered by deploy/render-nginx-site.sh from
 * SHIPSHAPE_UPSTREAMS. Each host is the built app alone on its own loopback address and port, on one
 * PostgreSQL 15; the load comes from twelve client addresses through nginx over TLS.
 */
jest.setTimeout(180_000);

const HOST_ENV = { TRUST_PROXY: '1', LOG_LEVEL: 'info' };
const LOAD_CLIENTS = loopbackClients(20, 12);

let pg: PrivatePostgres;
let hosts: AppHost[] = [];
let nginx: PrivateNginx;
let edge: Edge;
let bearer: Record<string, string>;
const extraNginx: PrivateNginx[] = [];
const extraHosts: AppHost[] = [];
let link: TcpProxy | undefined;

beforeAll(async () => {
  pg = await startPrivatePostgres();
  migrate(pg.url);
  hosts = await Promise.all(
    ['127.0.0.11', '127.0.0.12', '127.0.0.13'].map((ip) =>
      appHost(ip, { DATABASE_URL: pg.url, ...HOST_ENV }),
    ),
  );
  nginx = await privateNginx(hosts[0]!.address, { upstreams: hosts.map((host) => host.address) });
  await nginx.start();
  edge = { httpsPort: nginx.httpsPort, ca: nginx.cert };
  bearer = await signUp(edge, '127.0.0.2');
});

afterAll(async () => {
  for (const proxy of [nginx, ...extraNginx]) await proxy?.stop();
  await Promise.all([...hosts, ...extraHosts].map((host) => host.stop()));
  await link?.close();
  pg?.destroy();
});

/** How many access lines each host wrote since `since` (an ISO time), as "127.0.0.11: 120, ...". */
const share = (list: AppHost[], since: string) =>
  list.map(
    (host) => `${host.address.split(':')[0]}: ${host.requests((l) => String(l.time) >= since).length}`,
  );

/**
 * Sends requests through nginx until the restarted host serves one. Put back with upstream-host.sh, it serves
 * at once (nginx's new workers start with no failure counted); merely restarted, nginx's passive check lets it
 * back within fail_timeout (10 s).
 */
async function backInRotation(host: AppHost): Promise<number> {
  const started = Date.now();
  const since = new Date().toISOString();
  await waitFor(
    `${host.address} to serve through nginx again`,
    async () => {
      await call(edge, '/api/v1/notes', { headers: bearer, from: '127.0.0.4' });
      return host.requests((line) => String(line.time) >= since).length > 0 || undefined;
    },
    { timeoutMs: 30_000, intervalMs: 100 },
  );
  return Date.now() - started;
}

/**
 * deploy/upstream-host.sh on the test's nginx: `out` marks the host down and returns once nginx's previous
 * workers have exited, `in` puts it back. Asynchronous, so the load keeps flowing while nginx reloads.
 */
async function rotation(action: 'out' | 'in', host: AppHost): Promise<string> {
  const result = await runCommand('deploy/upstream-host.sh', [action, host.address], {
    env: {
      ...process.env,
      SHIPSHAPE_NGINX: `nginx -p ${nginx.dir}/ -c ${join(nginx.dir, 'conf', 'nginx.conf')}`,
      SHIPSHAPE_NGINX_PID_FILE: join(nginx.dir, 'nginx.pid'),
      SHIPSHAPE_NGINX_SITE: join(nginx.dir, 'conf', 'sites-enabled', 'shipshape.conf'),
    },
    timeoutMs: 60_000,
  });
  if (result.status !== 0)
    throw new Error(`upstream-host.sh ${action} ${host.address}: ${result.status}\n${result.stderr}`);
  return result.stderr;
}

/** The host's server line in the running site, as upstream-host.sh left it. */
const serverLine = (host: AppHost) =>
  readFileSync(join(nginx.dir, 'conf', 'sites-enabled', 'shipshape.conf'), 'utf8')
    .split('\n')
    .find((line) => line.trim().startsWith(`server ${host.address} `))
    ?.trim();

describe('OPS-18: several app hosts behind nginx', () => {
  test('OPS-18: when the site is rendered for three hosts, then nginx -t passes with one server line per host, passive checks and keepalive', () => {
    const check = nginx.test();
    expect(check.output).toContain('test is successful');
    const upstream = /upstream shipshape_app \{([^}]*)\}/.exec(nginx.site)?.[1] ?? '';
    const servers = [...upstream.matchAll(/^\s*server (\S+) max_fails=(\d+) fail_timeout=(\d+)s;/gm)];
    expect(servers.map((server) => server[1])).toEqual(hosts.map((host) => host.address));
    expect(upstream).toMatch(/^\s*keepalive \d+;/m);
    const proxy = readFileSync(join(REPO, 'nginx', 'snippets', 'shipshape-proxy.conf'), 'utf8');
    const directives = proxy.replace(/#.*$/gm, '');
    expect(directives).toMatch(/^proxy_next_upstream error timeout http_502 http_503 http_504;$/m);
    expect(directives).not.toContain('non_idempotent');
  });

  test('OPS-18: when steady traffic flows, then every host serves a share of it and nothing fails', async () => {
    const since = new Date().toISOString();
    const load = steadyLoad(edge, { from: LOAD_CLIENTS, headers: bearer });
    await sleep(3_000);
    const tally = await load.stop();
    reportFigure(
      `steady load over 3 hosts: ${describeTally(tally)}; per host ${share(hosts, since).join(', ')}`,
    );
    expect(tally.get.failed + tally.post.failed).toBe(0);
    for (const host of hosts)
      expect(host.requests((line) => String(line.time) >= since).length).toBeGreaterThan(0);
  });

  test('OPS-18: when a rolling deploy takes each host out of nginx, restarts it and puts it back under load, then no request fails', async () => {
    const load = steadyLoad(edge, { from: LOAD_CLIENTS, headers: bearer });
    const steps: string[] = [];
    const started = Date.now();
    for (const host of hosts) {
      const began = Date.now();
      const reload = await rotation('out', host);
      expect(serverLine(host)).toMatch(/ down;$/);
      const outMs = Date.now() - began;
      const afterOut = new Date().toISOString();
      const { code } = await host.drain();
      await host.start();
      const beforeIn = new Date().toISOString();
      await rotation('in', host);
      // While out, through its drain and its restart, nginx sent it nothing.
      expect(host.requests((line) => String(line.time) >= afterOut && String(line.time) < beforeIn)).toEqual(
        [],
      );
      expect(serverLine(host)).not.toContain('down');
      const readyMs = Date.now() - began;
      const rotationMs = await backInRotation(host);
      steps.push(
        `${host.address.split(':')[0]} out after ${outMs} ms (${/exited after ([\d.]+ s)/.exec(reload)?.[1] ?? '?'} for nginx's old workers), ` +
          `exit ${code}, ready and in ${readyMs} ms, serving +${rotationMs} ms`,
      );
    }
    const tally = await load.stop();
    reportFigure(
      `rolling deploy of 3 hosts in ${Date.now() - started} ms: ${describeTally(tally)}; ${steps.join('; ')}`,
    );
    expect(tally.get.failed + tally.post.failed).toBe(0);
  });

  test('OPS-18: when a host is stopped without being taken out of nginx first, then no GET fails and the lost POSTs are counted', async () => {
    const stopped = hosts[0]!;
    const load = steadyLoad(edge, { from: LOAD_CLIENTS, headers: bearer });
    await sleep(1_500);
    const { code } = await stopped.drain();
    await sleep(1_500);
    const tally = await load.stop();
    reportFigure(
      `SIGTERM to 1 of 3 hosts still in nginx's rotation: ${describeTally(tally)} (a POST on a connection the ` +
        `kernel completed as the listener closed is reset after it was sent: nginx never re-sends one)`,
    );
    expect(code).toBe(0);
    expect(tally.get.failed).toBe(0);
    expect(tally.get.ok).toBeGreaterThan(0);
    await stopped.start();
    await backInRotation(stopped);
  });

  test('OPS-18: when one host is killed with SIGKILL under load, then no GET fails and the failed POSTs are counted', async () => {
    const victim = hosts[1]!;
    const load = steadyLoad(edge, { from: LOAD_CLIENTS, headers: bearer });
    await sleep(1_500);
    await victim.kill();
    await sleep(3_000);
    const tally = await load.stop();
    reportFigure(
      `kill -9 of 1 of 3 hosts under load: ${describeTally(tally)} ` +
        `(a POST in flight on the killed host is lost: nginx never re-sends one)`,
    );
    expect(tally.get.failed).toBe(0);
    expect(tally.get.ok).toBeGreaterThan(0);
  });

  test('OPS-18: when a host is taken out of nginx and drained under load, then no request fails', async () => {
    // The killed host stays down: once this one is out, the last host takes everything.
    const drained = hosts[2]!;
    const load = steadyLoad(edge, { from: LOAD_CLIENTS, headers: bearer });
    await sleep(1_500);
    const started = Date.now();
    await rotation('out', drained);
    const outMs = Date.now() - started;
    const afterOut = new Date().toISOString();
    const { code } = await drained.drain();
    const drainMs = Date.now() - started - outMs;
    await sleep(1_500);
    const tally = await load.stop();
    reportFigure(
      `1 of 3 hosts out of nginx after ${outMs} ms, then drained (exit ${code} after ${drainMs} ms) under load: ` +
        describeTally(tally),
    );
    expect(code).toBe(0);
    expect(tally.get.failed + tally.post.failed).toBe(0);
    // Once out, nginx sent it nothing: what it served finished before nginx's old workers exited.
    expect(drained.requests((line) => String(line.time) >= afterOut)).toEqual([]);
    expect(drained.requests().length).toBeGreaterThan(0);
  });
});

describe('OPS-18: retries on another host', () => {
  let sick: AppHost;
  /** The shipped site over the sick host and a healthy one; a control site adds nginx's non_idempotent. */
  const siteOver = async (options: { nonIdempotent?: boolean } = {}): Promise<Edge> => {
    const site = await privateNginx(sick.address, { upstreams: [sick.address, hosts[0]!.address] });
    if (options.nonIdempotent) {
      const snippet = join(site.dir, 'conf', 'snippets', 'shipshape-proxy.conf');
      const shipped = readFileSync(snippet, 'utf8');
      writeFileSync(snippet, shipped.replace(/http_504;/, 'http_504 non_idempotent;'));
      expect(readFileSync(snippet, 'utf8')).toContain('non_idempotent;');
    }
    extraNginx.push(site);
    await site.start();
    return { httpsPort: site.httpsPort, ca: site.cert };
  };
  /** The hosts that logged a request with this id: more than one means nginx sent it twice. */
  const reachedBy = (id: string) =>
    [sick, hosts[0]!].filter((host) => host.requests((line) => line.requestId === id).length > 0);

  beforeAll(async () => {
    link = await tcpProxy(pg.port);
    sick = await appHost('127.0.0.14', {
      ...HOST_ENV,
      DATABASE_URL: `postgres://postgres@127.0.0.1:${link.port}/postgres`,
    });
    extraHosts.push(sick);
    // The host stays up but loses its database: every API request there is a 503 problem.
    await link.cut();
  });

  /** Six requests one after another, each with its own id, then which hosts logged each id. */
  const requests = async (edge: Edge, method: 'GET' | 'POST', tag: string) => {
    const sent: { id: string; status: number }[] = [];
    for (let i = 0; i < 6; i += 1) {
      const id = `${tag}-${method.toLowerCase()}-${i}-${Date.now()}`;
      const answer = await call(edge, '/api/v1/notes', {
        method,
        headers: { ...bearer, 'x-request-id': id },
        body: method === 'POST' ? { title: id } : undefined,
        from: '127.0.0.3',
      });
      sent.push({ id, status: answer.status });
    }
    // The hosts write their access lines asynchronously: wait for every id, then a moment for a second copy.
    await waitFor(
      'every request to be logged by a host',
      async () => sent.every(({ id }) => reachedBy(id).length > 0) || undefined,
    );
    await sleep(1_000);
    return sent.map(({ id, status }) => ({ id, status, hosts: reachedBy(id).map((host) => host.address) }));
  };

  test('OPS-18: when a host answers 503, then nginx retries each GET on another host and the client gets 200', async () => {
    const results = await requests(await siteOver(), 'GET', 'retry');
    reportFigure(
      `GETs over a sick host and a healthy one: ${JSON.stringify(results.map((r) => [r.status, r.hosts.length]))}`,
    );
    expect(results.map((r) => r.status)).toEqual(Array(6).fill(200));
    expect(results.filter((r) => r.hosts.length === 2).length).toBeGreaterThan(0);
  });

  test('OPS-18: when a host answers 503 to a POST, then nginx never sends it to a second host (counted at the hosts)', async () => {
    const shipped = await requests(await siteOver(), 'POST', 'once');
    const control = await requests(await siteOver({ nonIdempotent: true }), 'POST', 'twice');
    const sentTwice = (results: typeof shipped) => results.filter((r) => r.hosts.length > 1).length;
    reportFigure(
      `POSTs over a sick host: shipped site ${shipped.length} sent, ${sentTwice(shipped)} reached two hosts, ` +
        `${shipped.filter((r) => r.status === 503).length} answered 503; with non_idempotent added ` +
        `${sentTwice(control)} reached two hosts`,
    );
    // Every POST reached exactly one host; the ones the sick host got came back as its 503, not re-sent.
    expect(shipped.map((r) => r.hosts.length)).toEqual(Array(6).fill(1));
    const onSick = shipped.filter((r) => r.hosts[0] === sick.address);
    expect(onSick.length).toBeGreaterThan(0);
    expect(onSick.map((r) => r.status)).toEqual(onSick.map(() => 503));
    // The control proves the count can see a retry: the same site with non_idempotent sends some twice.
    expect(sentTwice(control)).toBeGreaterThan(0);
  });
});
