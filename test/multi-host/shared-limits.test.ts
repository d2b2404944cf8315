import { migrate } from '../faults/support/app';
import { send } from '../faults/support/client';
import { type PrivateNginx, privateNginx } from '../infra/support/nginx';
import { type PrivatePostgres, startPrivatePostgres } from '../support/postgres';
import { run } from '../support/processes';
import { reportFigure } from '../support/report';
import { eventually, sleep, waitFor } from '../support/waiting';
import { type AppHost, appHost } from './support/hosts';
import { call, describeTally, type Edge, loopbackClients, signUp, steadyLoad } from './support/load';
import { type PrivateRedis, privateRedis } from './support/redis';

/**
 * Two app hosts behind the shipped nginx site sharing one redis-server: the rate limits are one limit across
 * hosts, keyed on the client's address as nginx reports it; and what happens when Redis goes away.
 */
jest.setTimeout(180_000);

let pg: PrivatePostgres;
let redis: PrivateRedis;
const sites: PrivateNginx[] = [];
const allHosts: AppHost[] = [];

beforeAll(async () => {
  pg = await startPrivatePostgres();
  migrate(pg.url);
  redis = await privateRedis();
});

afterAll(async () => {
  for (const site of sites) await site.stop();
  await Promise.all(allHosts.map((host) => host.stop()));
  await redis?.stop();
  pg?.destroy();
});

/** Two hosts on their own loopback addresses, one nginx over both; the hosts share the file's Redis. */
async function twoHostsBehindNginx(ips: [string, string], env: Record<string, string>) {
  const hosts = await Promise.all(
    ips.map((ip) =>
      appHost(ip, {
        DATABASE_URL: pg.url,
        REDIS_URL: redis.url,
        TRUST_PROXY: '1',
        LOG_LEVEL: 'info',
        ...env,
      }),
    ),
  );
  allHosts.push(...hosts);
  const site = await privateNginx(hosts[0]!.address, { upstreams: hosts.map((host) => host.address) });
  sites.push(site);
  await site.start();
  const edge: Edge = { httpsPort: site.httpsPort, ca: site.cert };
  return { hosts, edge };
}

const redisKeys = (pattern: string) =>
  run('redis-cli', ['-p', String(redis.port), '--raw', 'keys', pattern])
    .stdout.split('\n')
    .filter(Boolean);

/** The client address a host logged for each of its access lines. */
const loggedAddresses = (host: AppHost) =>
  new Set(host.requests().map((line) => (line.req as { remoteAddress?: string }).remoteAddress));

describe('SEC-2: one limit across hosts', () => {
  let hosts: AppHost[];
  let edge: Edge;

  beforeAll(async () => {
    ({ hosts, edge } = await twoHostsBehindNginx(['127.0.0.15', '127.0.0.16'], {
      RATE_LIMIT_MAX: '10',
      AUTH_RATE_LIMIT_MAX: '3',
    }));
  });

  test('SEC-2: when two hosts behind nginx share Redis, then each client address has one limit across them', async () => {
    const first: number[] = [];
    for (let i = 0; i < 14; i += 1)
      first.push((await call(edge, '/api/v1/notes', { from: '127.0.0.2' })).status);
    // A spoofed X-Forwarded-For naming the exhausted address changes nothing: nginx replaces it.
    const second = await call(edge, '/api/v1/notes', {
      from: '127.0.0.3',
      headers: { 'x-forwarded-for': '127.0.0.2' },
    });
    reportFigure(
      `general limit 10/min across 2 hosts from 127.0.0.2: ${first.join(' ')}; 127.0.0.3: ${second.status}`,
    );
    expect(first).toEqual([...Array(10).fill(401), ...Array(4).fill(429)]);
    expect(second.status).toBe(401);
    // Both hosts served 127.0.0.2 and logged it as the client, not nginx's own address (logs arrive late).
    await eventually(async () => {
      for (const host of hosts) expect(loggedAddresses(host)).toContain('127.0.0.2');
      const logged = new Set(hosts.flatMap((host) => [...loggedAddresses(host)]));
      expect(logged).toEqual(new Set(['127.0.0.2', '127.0.0.3']));
    });
    expect(redisKeys('shipshape:rl:general:*').sort()).toEqual([
      'shipshape:rl:general:127.0.0.2',
      'shipshape:rl:general:127.0.0.3',
    ]);
  });

  test('SEC-2: when one address tries one email through nginx on two hosts, then the auth limit is one limit across both', async () => {
    const body = { email: `limit-${Date.now()}@example.test`, password: 'wrong password, twice over' };
    const statuses: number[] = [];
    for (let i = 0; i < 5; i += 1)
      statuses.push(
        (await call(edge, '/api/v1/auth/login', { method: 'POST', body, from: '127.0.0.5' })).status,
      );
    const elsewhere = await call(edge, '/api/v1/auth/login', { method: 'POST', body, from: '127.0.0.6' });
    reportFigure(
      `auth limit 3 per address and email across 2 hosts: ${statuses.join(' ')}; from another address ${elsewhere.status}`,
    );
    expect(statuses).toEqual([401, 401, 401, 429, 429]);
    expect(elsewhere.status).toBe(401);
  });
});

describe('OBS-15: Redis outage', () => {
  let hosts: AppHost[];
  let edge: Edge;
  const AUTH_MAX = 3;

  beforeAll(async () => {
    ({ hosts, edge } = await twoHostsBehindNginx(['127.0.0.17', '127.0.0.18'], {
      AUTH_RATE_LIMIT_MAX: String(AUTH_MAX),
    }));
  });

  const readiness = async (host: AppHost) => {
    const reply = await send(`http://${host.address}/health/ready`);
    const body = JSON.parse(reply.body) as { checks: { redis?: { status: string } } };
    return { status: reply.status, redis: body.checks.redis?.status };
  };
  const fallbacks = async (host: AppHost) => {
    const text = (await send(host.app.metricsUrl)).body;
    return [...text.matchAll(/^http_rate_limit_local_fallbacks_total\{[^}]*\} (\d+)/gm)].reduce(
      (sum, match) => sum + Number(match[1]),
      0,
    );
  };
  const attempts = async (from: string, count: number) => {
    const body = { email: `outage-${Date.now()}@example.test`, password: 'wrong password, twice over' };
    const statuses: number[] = [];
    for (let i = 0; i < count; i += 1)
      statuses.push((await call(edge, '/api/v1/auth/login', { method: 'POST', body, from })).status);
    return statuses;
  };

  test('OBS-15, SEC-2: when Redis stops under load and starts again, then readiness stays 200 reporting redis down, auth keeps a per-process limit, no request fails and counting returns to Redis without a restart', async () => {
    for (const host of hosts) expect(await readiness(host)).toEqual({ status: 200, redis: 'up' });
    const bearer = await signUp(edge, '127.0.0.7');
    const load = steadyLoad(edge, { from: loopbackClients(40, 8), headers: bearer });
    await sleep(1_000);

    const stopped = Date.now();
    await redis.stop();
    const during = await Promise.all(
      hosts.map((host) =>
        waitFor('readiness to report redis down', async () => {
          const ready = await readiness(host);
          return ready.redis === 'down' ? ready : undefined;
        }),
      ),
    );
    const outageAttempts = await attempts('127.0.0.8', 2 * AUTH_MAX + 2);
    const counted = await Promise.all(hosts.map(fallbacks));
    await sleep(1_000);

    await redis.start();
    const restarted = Date.now();
    await Promise.all(
      hosts.map((host) =>
        waitFor(
          'readiness to report redis up',
          async () => ((await readiness(host)).redis === 'up' ? true : undefined),
          {
            timeoutMs: 30_000,
          },
        ),
      ),
    );
    const recoveredMs = Date.now() - restarted;
    // Redis restarted empty: counts that land in it again prove the limiter went back to sharing.
    await waitFor(
      'rate-limit counters in Redis again',
      async () => redisKeys('shipshape:rl:general:*').length > 0 || undefined,
    );
    const afterAttempts = await attempts('127.0.0.9', AUTH_MAX + 1);
    await sleep(1_000);
    const tally = await load.stop();

    reportFigure(
      `Redis stopped for ${restarted - stopped} ms under load over 2 hosts: ${describeTally(tally)}; readiness during ` +
        `${JSON.stringify(during)}; login attempts for one email during the outage ${outageAttempts.join(' ')} ` +
        `(local fallbacks counted per host ${counted.join(', ')}); readiness back to redis up ${recoveredMs} ms after ` +
        `the restart; attempts after ${afterAttempts.join(' ')}`,
    );
    expect(during).toEqual([
      { status: 200, redis: 'down' },
      { status: 200, redis: 'down' },
    ]);
    expect(tally.get.failed + tally.post.failed).toBe(0);
    // Each process counts alone while Redis is away: at most hosts x limit get through, then 429.
    const passed = outageAttempts.filter((status) => status === 401).length;
    expect(passed).toBeLessThanOrEqual(2 * AUTH_MAX);
    expect(outageAttempts.filter((status) => status === 429).length).toBe(outageAttempts.length - passed);
    expect(counted.every((count) => count > 0)).toBe(true);
    expect(afterAttempts).toEqual([...Array(AUTH_MAX).fill(401), 429]);
    for (const host of hosts) {
      const messages = host.app.logs.map((line) => line.msg);
      expect(messages).toContain('rate limit: Redis unusable; counting in this process');
      expect(messages).toContain('rate limit: counting in Redis again');
      expect(
        host.app.logs.filter((line) => (line.res as { statusCode?: number })?.statusCode === 500),
      ).toEqual([]);
    }
  });
});
