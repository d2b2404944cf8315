import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type PrivateNginx, privateNginx } from '../infra/support/nginx';
import { freePort } from '../support/net';
import { runCommand } from '../support/processes';

/**
 * deploy/upstream-host.sh against a running private nginx whose site names two app hosts. nginx checks and
 * reloads the site without reaching the hosts, so none runs here; the drills under load are in
 * load-balancing.test.ts.
 */
let nginx: PrivateNginx;
let first: string;
let second: string;
const sitePath = () => join(nginx.dir, 'conf', 'sites-enabled', 'shipshape.conf');
const site = () => readFileSync(sitePath(), 'utf8');

const upstreamHost = (...args: string[]) =>
  runCommand('deploy/upstream-host.sh', args, {
    env: {
      ...process.env,
      SHIPSHAPE_NGINX: `nginx -p ${nginx.dir}/ -c ${join(nginx.dir, 'conf', 'nginx.conf')}`,
      SHIPSHAPE_NGINX_PID_FILE: join(nginx.dir, 'nginx.pid'),
      SHIPSHAPE_NGINX_SITE: sitePath(),
    },
    timeoutMs: 60_000,
  });

beforeAll(async () => {
  first = `127.0.0.11:${await freePort()}`;
  second = `127.0.0.12:${await freePort()}`;
  nginx = await privateNginx(first, { upstreams: [first, second] });
  await nginx.start();
});

afterAll(async () => {
  await nginx?.stop();
});

describe('OPS-18: deploy/upstream-host.sh', () => {
  test('OPS-18: when a host is taken out, then only its server line says down, nginx reloads, and putting it back restores the rendered site', async () => {
    const rendered = site();
    const out = await upstreamHost('out', first);
    expect(out.status).toBe(0);
    expect(out.stderr).toContain(`${first} is out of rotation`);
    expect(out.stderr).toMatch(/nginx reloaded: its previous workers exited after/);
    const lines = site()
      .split('\n')
      .filter((line) => line.trim().startsWith('server 127.0.0.1'));
    expect(lines.map((line) => line.trim())).toEqual([
      `server ${first} max_fails=2 fail_timeout=10s down;`,
      `server ${second} max_fails=2 fail_timeout=10s;`,
    ]);
    const again = await upstreamHost('out', first);
    expect(again.status).toBe(0);
    expect(again.stderr).toContain('already out of rotation');
    const back = await upstreamHost('in', first);
    expect(back.status).toBe(0);
    expect(site()).toBe(rendered);
  });

  test('OPS-18: when the last host in rotation would be taken out, then upstream-host.sh refuses and the site is unchanged', async () => {
    expect((await upstreamHost('out', first)).status).toBe(0);
    const before = site();
    const refused = await upstreamHost('out', second);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain(`${second} is the last host in rotation`);
    expect(site()).toBe(before);
    expect((await upstreamHost('in', first)).status).toBe(0);
  });

  test('OPS-18: when the host is not in the upstream or not HOST:PORT, then upstream-host.sh refuses and names it', async () => {
    const before = site();
    const unknown = await upstreamHost('out', '127.0.0.13:3000');
    expect(unknown.status).toBe(1);
    expect(unknown.stderr).toContain('127.0.0.13:3000 is not a server of upstream shipshape_app');
    const malformed = await upstreamHost('out', '127.0.0.11:3000; server evil');
    expect(malformed.status).toBe(64);
    expect(malformed.stderr).toContain('is not HOST:PORT');
    expect((await upstreamHost('sideways', first)).status).toBe(64);
    expect(site()).toBe(before);
  });

  test('OPS-18: when nginx refuses the changed configuration, then the previous site is back in place', async () => {
    const before = site();
    const broken = join(nginx.dir, 'conf', 'sites-enabled', 'broken.conf');
    writeFileSync(broken, 'this is not nginx;\n');
    try {
      const refused = await upstreamHost('out', first);
      expect(refused.status).toBe(1);
      expect(refused.stderr).toContain('the previous one is back in place');
      expect(site()).toBe(before);
    } finally {
      rmSync(broken);
    }
  });
});
