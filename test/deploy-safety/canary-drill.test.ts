import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { send } from '../infra/support/http';
import { freePort } from '../support/net';
import { run } from '../support/processes';
import { reportFigure } from '../support/report';
import { frontNginx, type Host, readerWithNotes, temporaryHost } from './support/drill';
import { type Answer, steadyLoad, summarise } from './support/load';
import { stageRelease } from './support/vps';

/**
 * Canary and blue-green on one host: shipshape@blue and shipshape@green (a stubbed systemctl starts them as the
 * template unit does) behind the shipped nginx site, whose upstream is an include file canary.sh and
 * blue-green.sh rewrite and reload. Steady HTTPS traffic through nginx counts every answer: reads on kept-alive
 * connections, retried once on a new connection when nginx closed a kept-alive one under them before answering
 * (as real clients do; counted apart), and one request in ten a note creation on a connection of its own, which
 * nothing retries: a POST lost between nginx and the slots would fail the drill.
 */
jest.setTimeout(600_000);

let host: Host;
let reader: { token: string };
const RATE = 50;
const slotPorts: Record<string, number> = {};
let upstreamFile: string;

/**
 * A small step sees few requests: each step waits for 40 of them (at most 25 s), watching at least 5 s. At 5 %
 * that is about 36 reads, so a release failing one read in five goes unseen once in 3,000 runs (0.8^36).
 */
const VERIFY = {
  VERIFY_WINDOW: '5',
  VERIFY_MAX_WINDOW: '25',
  VERIFY_MIN_REQUESTS: '40',
  VERIFY_BASELINE_WINDOW: '5',
  VERIFY_INTERVAL: '1',
  VERIFY_WARMUP: '2',
  // This drill moves traffic and trips the error rate; the p95 factor, drilled in verify-drill.test.ts, would
  // read noise from a 3 s warm window on a shared 2-core host as a regression.
  VERIFY_P95_FACTOR: '10',
};

async function underLoad(script: string, args: string[], marker: string, env: Record<string, string> = {}) {
  const notes = `https://localhost:${host.nginx!.httpsPort}/api/v1/notes`;
  const load = steadyLoad({
    url: (n) => `${notes}?limit=${n % 2 ? 20 : 50}`,
    headers: { authorization: `Bearer ${reader.token}` },
    ca: host.nginx!.cert,
    rate: RATE,
    writes: {
      every: 10,
      url: notes,
      body: (n) => JSON.stringify({ title: `drill ${n}`, body: 'written during a reload' }),
      newConnection: true,
    },
  });
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  const result = await host.script(script, args, { ...VERIFY, ...env });
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  const answers = await load.stop();
  const seen = summarise(answers, marker);
  const reloads = (result.stderr.match(/traffic: /g) ?? []).length;
  reportFigure(
    `${script} ${args.join(' ')}: ${seen.total} requests (${seen.posts} POST) at ${RATE}/s across ${reloads} ` +
      `nginx reload(s); ${seen.failed} failed (5xx or no answer) ${JSON.stringify(seen.failures)}, ` +
      `${seen.retriedAfterReset} GET retried once on a new connection after a kept-alive one closed unanswered; ` +
      `${seen.servedByBad} served by the drill's bad release; statuses ${JSON.stringify(seen.statuses)}`,
  );
  // A retry that rode another kept-alive connection would meet the same closing worker: each goes out anew.
  expect(answers.filter((answer) => answer.retriedAfter !== undefined && answer.reused)).toEqual([]);
  expect(seen.posts).toBeGreaterThan(0);
  return { result, seen, answers, reloads };
}

/** Each reload returned once nginx's previous workers were gone (deploy/nginx-reload.sh reload_nginx). */
const reloadsAwaited = (stderr: string) =>
  (stderr.match(/nginx reloaded: its previous workers exited/g) ?? []).length;

/** The share of traffic the bad release took while it was in the upstream (first to last of its answers). */
function shareWhileIn(answers: Answer[], marker: string): number {
  const bad = answers.filter((a) => a.marker === marker);
  if (bad.length === 0) return 0;
  const from = Math.min(...bad.map((a) => a.at));
  const to = Math.max(...bad.map((a) => a.at));
  const during = answers.filter((a) => a.at >= from && a.at <= to);
  return bad.length / during.length;
}

const versionVia = async (port: number) =>
  JSON.parse((await send(`http://127.0.0.1:${port}/api/v1/openapi.json`)).text).info.version as string;

beforeAll(async () => {
  host = await temporaryHost('canary-drill');
  for (const slot of ['BLUE', 'GREEN']) {
    slotPorts[slot] = await freePort();
    host.env[`SHIPSHAPE_${slot}_PORT`] = String(slotPorts[slot]);
    host.env[`SHIPSHAPE_${slot}_METRICS_PORT`] = String(await freePort());
  }
  upstreamFile = join(host.work, 'shipshape-upstream.conf');
  // Before the first slot exists nginx needs a server line; the first blue-green.sh run rewrites it.
  writeFileSync(upstreamFile, `server 127.0.0.1:${slotPorts.BLUE};\n`);
  host.env.SHIPSHAPE_UPSTREAM_FILE = upstreamFile;
  const nginx = await frontNginx(host, 'unused', { SHIPSHAPE_UPSTREAM_INCLUDE: upstreamFile });
  host.env.SHIPSHAPE_NGINX = `nginx -p ${nginx.dir}/ -c ${join(nginx.dir, 'conf', 'nginx.conf')}`;
  host.env.SHIPSHAPE_NGINX_PID_FILE = join(nginx.dir, 'nginx.pid');
  stageRelease(host.root, 'v1', '1.0.0');
  stageRelease(host.root, 'v2-errors', '2.0.0', 'answer-500-to-one-in-five.cjs');
  stageRelease(host.root, 'v3', '3.0.0');
  const first = await host.script('blue-green.sh', ['v1'], { ...VERIFY, SHIPSHAPE_VERIFY: '0' });
  expect(first.status).toBe(0);
  host.env.SHIPSHAPE_SMOKE_URL = `http://127.0.0.1:${slotPorts.BLUE}`;
  reader = await readerWithNotes(host.env.SHIPSHAPE_SMOKE_URL, 50, 500);
});

afterAll(async () => {
  await host?.cleanUp();
});

describe('canary and blue-green on one host', () => {
  test("OPS-14: when a canary answers 500 to one request in five on its busiest route, then it is stopped at its first step having served about that step's share", async () => {
    const { result, seen, answers } = await underLoad('canary.sh', ['v2-errors'], 'answers-500');
    expect(result.stderr).toMatch(/verify: FAILED .*error rate/);
    // The canary is stopped only once the workers that still routed to it are gone: nothing else fails.
    const stderr = result.stderr;
    expect(stderr.lastIndexOf('nginx reloaded: its previous workers exited')).toBeGreaterThan(-1);
    expect(stderr.lastIndexOf('nginx reloaded: its previous workers exited')).toBeLessThan(
      stderr.indexOf('stopping shipshape@green'),
    );
    expect(answers.filter((a) => (a.status === 0 || a.status >= 500) && a.marker !== 'answers-500')).toEqual(
      [],
    );
    expect(result.stderr).toContain('failed its verification at 5 % of traffic');
    expect(result.stderr).not.toContain('traffic: green 25 %');
    expect(result.status).toBe(1);
    const share = shareWhileIn(answers, 'answers-500');
    reportFigure(
      `bad canary: ${seen.servedByBad} of ${seen.total} requests (${(seen.badShare * 100).toFixed(1)} % of the run, ` +
        `${(share * 100).toFixed(1)} % while it was in the upstream at the 5 % step); ${seen.failed} failed`,
    );
    expect(share).toBeLessThan(0.1);
    expect(await versionVia(slotPorts.BLUE!)).toBe('1.0.0');
    expect(readFileSync(upstreamFile, 'utf8')).not.toContain(`:${slotPorts.GREEN} `);
    expect(
      run('systemctl', ['is-active', 'shipshape@green'], { env: { ...process.env, ...host.env } }).status,
    ).toBe(3);
  });

  test('OPS-14: when a good canary passes every step, then it reaches 100 % and the nginx reloads between steps drop no request', async () => {
    const { result, seen, reloads } = await underLoad('canary.sh', ['v3'], 'none');
    for (const share of [5, 25, 50, 100]) expect(result.stderr).toContain(`canary v3 passed at ${share} %`);
    expect(result.status).toBe(0);
    expect(reloads).toBe(4);
    expect(reloadsAwaited(result.stderr)).toBe(4);
    expect(seen.failed).toBe(0);
    expect(readFileSync(join(host.root, 'live-slot'), 'utf8').trim()).toBe('green');
    expect(readFileSync(upstreamFile, 'utf8')).not.toContain(`:${slotPorts.BLUE} `);
    expect(await versionVia(slotPorts.GREEN!)).toBe('3.0.0');
    expect(host.current()).toBe('v3');
  });

  test('OPS-14: when blue-green.sh --back is run, then all traffic returns at once to the warm previous release and no request fails', async () => {
    const { result, seen, answers } = await underLoad('blue-green.sh', ['--back'], 'none');
    expect(result.status).toBe(0);
    expect(reloadsAwaited(result.stderr)).toBe(1);
    expect(seen.failed).toBe(0);
    expect(readFileSync(join(host.root, 'live-slot'), 'utf8').trim()).toBe('blue');
    expect(host.current()).toBe('v1');
    expect(answers.length).toBeGreaterThan(0);
  });

  test('OPS-14: when blue-green.sh switches to a new release under load, then no request fails and the old slot stays warm', async () => {
    const { result, seen } = await underLoad('blue-green.sh', ['v3'], 'none');
    expect(result.stderr).toContain('verify: passed');
    expect(result.status).toBe(0);
    expect(reloadsAwaited(result.stderr)).toBe(1);
    expect(seen.failed).toBe(0);
    expect(readFileSync(join(host.root, 'live-slot'), 'utf8').trim()).toBe('green');
    expect(await versionVia(slotPorts.BLUE!)).toBe('1.0.0');
  });
});

describe('the slot unit', () => {
  test('OPS-14: when systemd-analyze reads shipshape@blue.service, then it verifies clean with an exposure of at most 1.5', () => {
    const dir = join(host.work, 'units');
    run('mkdir', ['-p', dir]);
    writeFileSync(
      join(dir, 'shipshape@.service'),
      readFileSync(join(__dirname, '..', '..', 'systemd', 'shipshape@.service')),
    );
    const verify = run('systemd-analyze', ['verify', './shipshape@blue.service'], { cwd: dir });
    expect(verify.stdout + verify.stderr).toBe('');
    expect(verify.status).toBe(0);
    const security = run(
      'systemd-analyze',
      ['security', '--offline=true', '--threshold=15', '--no-pager', './shipshape@blue.service'],
      { cwd: dir },
    );
    const score = Number(/Overall exposure level for \S+: ([\d.]+)/.exec(security.stdout)?.[1]);
    reportFigure(`systemd-analyze security shipshape@blue.service: exposure ${score}`);
    expect(score).toBeLessThanOrEqual(1.5);
  });
});
