import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { gunzipSync } from 'node:zlib';
import { loadConfig } from '../../src/config';
import { REPO, run, runOk } from '../support/processes';
import { waitFor } from '../support/waiting';
import { type AppProcess, randomSecret, startBuiltApp } from './support/app';
import { type RawResponse, send } from './support/http';
import { type PrivateNginx, privateNginx } from './support/nginx';

/**
 * The shipped nginx site (nginx/) in front of the real built app in production mode, on a private prefix
 * and high ports with a self-signed certificate.
 */
jest.setTimeout(120_000);

const OBSERVATORY_DIR =
  process.env.OBSERVATORY_DIR ?? '/tmp/observatory/node_modules/@mdn/mdn-http-observatory';
const APP_RATE_LIMIT = 20;
/** nogroup: the group of nobody, the user nginx's workers run as when root starts it. */
const NGINX_WORKER_GID = 65_534;

let nginx: PrivateNginx;
let app: AppProcess;
let https: (path: string) => string;
let http: (path: string) => string;
let ca: string;
const work = mkdtempSync(join(tmpdir(), 'shipshape-nginx-app-'));
/**
 * As provision.sh makes /var/lib/shipshape/uploads: the app's, group-owned by nginx's user with the setgid bit,
 * so every directory and file the app writes there (0750/0640) is readable by nginx and no one else.
 */
const uploads = mkdtempSync(join(tmpdir(), 'shipshape-nginx-uploads-'));
chownSync(uploads, process.getuid!(), NGINX_WORKER_GID);
chmodSync(uploads, 0o2750);

beforeAll(async () => {
  const databaseUrl = process.env.SHIPSHAPE_TEST_DB_URL!;
  app = await startBuiltApp({
    databaseUrl,
    logFile: join(work, 'app.log'),
    // One worker: without REDIS_URL each worker counts rate limits on its own.
    env: {
      RATE_LIMIT_MAX: String(APP_RATE_LIMIT),
      LOG_LEVEL: 'info',
      WEB_CONCURRENCY: '1',
      UPLOAD_DIR: uploads,
    },
  });
  nginx = await privateNginx(`127.0.0.1:${app.port}`, {
    extraEnv: { SHIPSHAPE_UPLOAD_DIR: uploads },
  });
  ca = nginx.cert;
  https = (path) => `https://localhost:${nginx.httpsPort}${path}`;
  http = (path) => `http://localhost:${nginx.httpPort}${path}`;
  writeFileSync(join(nginx.dir, 'public', 'static', 'app.css'), `${'body { color: #222; }\n'.repeat(40)}`);
  await nginx.start();
  await waitFor('the app behind nginx', async () => {
    const res = await send(https('/health/startup'), { ca });
    return res.status === 200 || undefined;
  });
});

afterAll(async () => {
  await nginx?.stop();
  await app?.stop();
});

/** The app writes its log asynchronously: wait for a line rather than read the file once. */
const appLogged = (text: string) =>
  waitFor(`the app to log ${text}`, async () =>
    readFileSync(join(work, 'app.log'), 'utf8').includes(text) ? true : undefined,
  );

const SECURITY_HEADERS = [
  'strict-transport-security',
  'content-security-policy',
  'x-content-type-options',
  'x-frame-options',
  'referrer-policy',
  'permissions-policy',
];

/** Every security header present exactly once, HSTS for at least a year, and no version in Server. */
function expectSecurityHeaders(res: RawResponse): void {
  for (const name of SECURITY_HEADERS) {
    expect({ name, value: res.headers[name] }).toEqual({ name, value: expect.any(String) });
  }
  const hsts = String(res.headers['strict-transport-security']);
  expect(hsts).toMatch(/^max-age=(\d+); includeSubDomains; preload$/);
  expect(Number(/max-age=(\d+)/.exec(hsts)?.[1])).toBeGreaterThanOrEqual(31_536_000);
  // node joins a repeated header with ", ": a second copy would show up here.
  expect(res.headers['x-content-type-options']).toBe('nosniff');
  expect(res.headers['x-frame-options']).toBe('DENY');
  expect(res.headers.server).toBe('nginx');
}

describe('PXY-1: nginx configuration', () => {
  test('PXY-7: when nginx -t checks the rendered site with Debian-like defaults, then it passes with no error', () => {
    const result = nginx.test();
    expect(result.output).toContain('syntax is ok');
    expect(result.output).toContain('test is successful');
    expect(result.output).not.toMatch(/\[(emerg|error|crit)\]/);
    expect(result.status).toBe(0);
  });

  test('SRV-5: when rendered with the defaults, then the upstream is exactly the bind of the app defaults', () => {
    const site = runOk(join(REPO, 'deploy', 'render-nginx-site.sh'), [], {
      env: { ...process.env, SHIPSHAPE_SERVER_NAME: 'api.example.com' },
    }).stdout;
    const production = loadConfig({
      APP_ENV: 'production',
      SECRET_KEY: randomSecret(),
      DATABASE_URL: 'postgres://u:p@127.0.0.1/db',
      TRUST_PROXY: '1',
    });
    const upstream = /upstream shipshape_app \{\s*server (\S+)[^;]*;/.exec(site)?.[1];
    expect(upstream).toBe(`${production.http.host}:${production.http.port}`);
    expect(site).toMatch(/^\s*server_name api\.example\.com;/m);
    expect(site).toContain('ssl_certificate /etc/letsencrypt/live/api.example.com/fullchain.pem;');
  });

  test('OPS-14: when rendered with the weighted upstream include, then the upstream reads that file alone, and a path that could end the directive is refused', () => {
    const render = (include: string) =>
      run(join(REPO, 'deploy', 'render-nginx-site.sh'), [], {
        env: {
          ...process.env,
          SHIPSHAPE_SERVER_NAME: 'api.example.com',
          SHIPSHAPE_UPSTREAMS: 'not-read',
          SHIPSHAPE_UPSTREAM_INCLUDE: include,
        },
      });
    const site = render('/etc/nginx/shipshape-upstream.conf');
    expect(site.status).toBe(0);
    const upstream = /upstream shipshape_app \{([^}]*)\}/.exec(site.stdout)?.[1] ?? '';
    expect(upstream).toMatch(/^\s*include \/etc\/nginx\/shipshape-upstream\.conf;$/m);
    expect(upstream).not.toMatch(/^\s*server /m);
    const injected = render('/etc/nginx/up.conf; server 10.0.0.9:80');
    expect(injected.stderr).toContain('is not an absolute path of plain characters');
    expect(injected.status).toBe(64);
  });

  test('when any directive is read, then none names the metrics port or another upstream', () => {
    const directives = nginx.site
      .split('\n')
      .map((line) => line.replace(/#.*/, '').trim())
      .filter(Boolean);
    expect(directives.filter((line) => line.includes(String(loadConfig({}).metrics.port)))).toEqual([]);
    const targets = directives.filter((line) => line.startsWith('proxy_pass'));
    expect(targets).toEqual([]);
    const snippet = readFileSync(join(REPO, 'nginx', 'snippets', 'shipshape-proxy.conf'), 'utf8');
    expect(snippet).toMatch(/^proxy_pass http:\/\/shipshape_app;$/m);
  });
});

describe('PXY-6: redirects and names', () => {
  test('SEC-3: when a client asks over plain HTTP, then 301 sends it to the same path over HTTPS', async () => {
    const res = await send(http('/api/v1/notes?limit=5'));
    expect(res.status).toBe(301);
    expect(res.headers.location).toBe(`https://localhost:${nginx.httpsPort}/api/v1/notes?limit=5`);
  });

  test('PXY-3: when certbot asks for an ACME challenge over HTTP, then nginx serves the file without a redirect', async () => {
    writeFileSync(join(nginx.dir, 'acme', '.well-known', 'acme-challenge', 'token-1'), 'token-1.key');
    const res = await send(http('/.well-known/acme-challenge/token-1'));
    expect(res.status).toBe(200);
    expect(res.text).toBe('token-1.key');
  });

  test('when the Host is unknown over HTTP, then nginx closes the connection without an answer', async () => {
    await expect(send(http('/health'), { headers: { Host: 'evil.example' } })).rejects.toThrow(
      /socket hang up|ECONNRESET/,
    );
  });

  test('when the TLS name is unknown, then the handshake is refused', async () => {
    const error = await new Promise<Error>((resolve) => {
      const socket = tlsConnect({ host: '127.0.0.1', port: nginx.httpsPort, servername: 'evil.example', ca });
      socket.once('secureConnect', () => {
        socket.destroy();
        resolve(new Error('handshake accepted'));
      });
      socket.once('error', resolve);
    });
    expect(error.message).toMatch(/unrecognized name/i);
  });

  test('when the Host is unknown over a valid TLS session, then nginx closes the connection', async () => {
    const request = send(https('/health'), {
      ca,
      servername: 'localhost',
      headers: { Host: 'evil.example' },
    });
    await expect(request).rejects.toThrow(/socket hang up|ECONNRESET/);
  });
});

describe('SEC-4, SEC-8: headers on every kind of response', () => {
  test('when the app answers an API call, then every security header is there once', async () => {
    const res = await send(https('/api/v1/openapi.json'), { ca, localAddress: '127.0.0.5' });
    expect(res.status).toBe(200);
    expectSecurityHeaders(res);
    expect(res.headers['cache-control']).toBe('no-store');
  });

  test('PXY-2, PRF-2: when nginx serves a static file, then it has the security headers and a year of caching', async () => {
    const res = await send(https('/static/app.css'), { ca });
    expect(res.status).toBe(200);
    expectSecurityHeaders(res);
    expect(res.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(res.headers['content-type']).toBe('text/css');
  });

  test('when a static file is missing, then nginx 404 carries the security headers', async () => {
    const res = await send(https('/static/missing.css'), { ca });
    expect(res.status).toBe(404);
    expectSecurityHeaders(res);
  });

  test('when the app answers 404, then the problem+json carries the security headers', async () => {
    const res = await send(https('/api/v1/no-such-thing'), { ca, localAddress: '127.0.0.5' });
    expect(res.status).toBe(404);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expectSecurityHeaders(res);
  });

  test('SEC-15: when a body is over the app limit, then the app 413 problem+json carries the security headers', async () => {
    const res = await send(https('/api/v1/notes'), {
      ca,
      localAddress: '127.0.0.5',
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ title: 'x', body: 'y'.repeat(200_000) }),
    });
    expect(res.status).toBe(413);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expectSecurityHeaders(res);
  });

  test('SEC-15: when a body is over nginx client_max_body_size, then nginx 413 carries the security headers', async () => {
    const res = await send(https('/api/v1/notes'), {
      ca,
      localAddress: '127.0.0.5',
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: Buffer.alloc(2 * 1024 * 1024, 0x20),
    });
    expect(res.status).toBe(413);
    expect(res.headers['content-type']).toBe('text/html');
    expectSecurityHeaders(res);
  });

  test('when /metrics is asked for, then nginx answers 404 itself', async () => {
    const res = await send(https('/metrics'), { ca });
    expect(res.status).toBe(404);
    expect(res.headers['content-type']).toBe('text/html');
    expectSecurityHeaders(res);
  });
});

describe('PXY-4, PRF-3: compression', () => {
  test('when a client accepts gzip, then the API JSON arrives compressed and intact', async () => {
    const res = await send(https('/api/v1/openapi.json'), {
      ca,
      localAddress: '127.0.0.6',
      headers: { 'accept-encoding': 'gzip' },
    });
    expect(res.headers['content-encoding']).toBe('gzip');
    expect(res.headers.vary).toMatch(/Accept-Encoding/i);
    expect(JSON.parse(gunzipSync(res.body).toString('utf8')).openapi).toMatch(/^3\.1/);
  });

  test('when a client accepts gzip, then a static stylesheet arrives compressed', async () => {
    const res = await send(https('/static/app.css'), { ca, headers: { 'accept-encoding': 'gzip' } });
    expect(res.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(res.body).toString('utf8')).toContain('body { color: #222; }');
  });
});

describe('request ids and client addresses', () => {
  test('when the client sends a well-formed X-Request-Id, then the app gets it and echoes it', async () => {
    const id = 'client-id-0123456789';
    const res = await send(https('/api/v1/no-such-thing'), {
      ca,
      localAddress: '127.0.0.7',
      headers: { 'x-request-id': id },
    });
    expect(res.headers['x-request-id']).toBe(id);
    await appLogged(`"requestId":"${id}"`);
  });

  test('when the client sends none, then nginx makes one that the app logs and echoes', async () => {
    const res = await send(https('/api/v1/no-such-thing'), { ca, localAddress: '127.0.0.7' });
    const id = String(res.headers['x-request-id']);
    expect(id).toMatch(/^[0-9a-f]{32}$/);
    await appLogged(`"requestId":"${id}"`);
    await waitFor('nginx to log the id', async () =>
      readFileSync(join(nginx.dir, 'logs', 'shipshape.access.log'), 'utf8').includes(`"request_id":"${id}"`)
        ? true
        : undefined,
    );
  });

  test('PXY-5: when a client spoofs X-Forwarded-For, then the app still limits its real address', async () => {
    const statuses: number[] = [];
    for (let i = 0; i <= APP_RATE_LIMIT; i += 1) {
      const res = await send(https('/api/v1/openapi.json'), {
        ca,
        localAddress: '127.0.0.2',
        headers: { 'x-forwarded-for': `203.0.113.${i + 1}` },
      });
      statuses.push(res.status);
      if (res.status === 429) expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    }
    expect(statuses.slice(0, APP_RATE_LIMIT).every((s) => s === 200)).toBe(true);
    expect(statuses[APP_RATE_LIMIT]).toBe(429);
    // Another real client is a different key: the limit followed the connection, not the header.
    const other = await send(https('/api/v1/openapi.json'), { ca, localAddress: '127.0.0.3' });
    expect(other.status).toBe(200);
  });

  test('SEC-2: when one address hammers /api/v1/auth/, then nginx answers 429 before the app does', async () => {
    const answers: { status: number; type: string }[] = [];
    for (let i = 0; i < 14; i += 1) {
      const res = await send(https('/api/v1/auth/login'), {
        ca,
        localAddress: '127.0.0.9',
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: `nobody-${i}@example.test`, password: 'not the password at all' }),
      });
      answers.push({ status: res.status, type: String(res.headers['content-type']) });
    }
    const limited = answers.filter((a) => a.status === 429);
    expect(limited.length).toBeGreaterThan(0);
    expect(limited.every((a) => a.type === 'text/html')).toBe(true);
    expect(answers.filter((a) => a.status !== 429).every((a) => a.status === 401)).toBe(true);
  });
});

describe('SEC-4, SEC-5: TLS and the Mozilla HTTP Observatory', () => {
  test('when sslscan probes the site, then only TLS 1.2 and 1.3 with forward-secret AEAD suites answer', () => {
    const xml = runOk('sslscan', ['--no-colour', '--xml=-', `localhost:${nginx.httpsPort}`]).stdout;
    const protocols = [...xml.matchAll(/<protocol type="(\w+)" version="([\d.]+)" enabled="(\d)"/g)].map(
      ([, type, version, enabled]) => ({ name: `${type}${version}`, enabled: enabled === '1' }),
    );
    expect(protocols).toEqual(
      expect.arrayContaining([
        { name: 'ssl2', enabled: false },
        { name: 'ssl3', enabled: false },
        { name: 'tls1.0', enabled: false },
        { name: 'tls1.1', enabled: false },
        { name: 'tls1.2', enabled: true },
        { name: 'tls1.3', enabled: true },
      ]),
    );
    const ciphers = [
      ...xml.matchAll(/<cipher status="\w+" sslversion="([\w.]+)" bits="\d+" cipher="([\w-]+)"/g),
    ].map(([, version, name]) => ({ version: version!, name: name! }));
    expect(ciphers.length).toBeGreaterThan(0);
    const weak = ciphers.filter(
      ({ version, name }) =>
        !/GCM|CHACHA20|CCM/.test(name) || (version === 'TLSv1.2' && !/^(ECDHE|DHE)-/.test(name)),
    );
    expect(weak).toEqual([]);
    process.stdout.write(
      `\nsslscan: ${protocols
        .filter((p) => p.enabled)
        .map((p) => p.name)
        .join(', ')} enabled; ` +
        `${ciphers.length} suites: ${ciphers.map((c) => `${c.version} ${c.name}`).join(', ')}\n`,
    );
  });

  test.each(['/health', '/static/app.css'])(
    'when the Observatory scans %s, then it grades the site A+',
    (path) => {
      if (!existsSync(join(OBSERVATORY_DIR, 'src', 'retriever', 'retriever.js'))) {
        throw new Error(
          `the Observatory is not installed at ${OBSERVATORY_DIR}: npm install --ignore-scripts @mdn/mdn-http-observatory outside the project (see .ci/steps/20-infra.sh)`,
        );
      }
      // Its install scripts download these lists; offline, empty lists only mean "not preloaded".
      mkdirSync(join(OBSERVATORY_DIR, 'conf'), { recursive: true });
      for (const [file, empty] of [
        ['hsts-preload.json', '{}'],
        ['tld-list.json', '[]'],
      ] as const) {
        if (!existsSync(join(OBSERVATORY_DIR, 'conf', file)))
          writeFileSync(join(OBSERVATORY_DIR, 'conf', file), empty);
      }
      const result = run(
        process.execPath,
        [
          '--input-type=module',
          '-e',
          OBSERVATORY_SCAN,
          OBSERVATORY_DIR,
          'localhost',
          String(nginx.httpPort),
          String(nginx.httpsPort),
          path,
        ],
        {
          env: { ...process.env, NODE_EXTRA_CA_CERTS: join(nginx.dir, 'cert.pem') },
        },
      );
      expect(result.stderr).toBe('');
      const report = JSON.parse(result.stdout) as ObservatoryReport;
      expect(report.status).toBe(200);
      const failed = Object.entries(report.tests).filter(([, t]) => !t.pass);
      expect(failed).toEqual([]);
      expect(report.grade).toBe('A+');
      process.stdout.write(
        `\nObservatory ${path}: grade ${report.grade}, score ${report.score}, ${report.passed}/${report.total} tests passed\n`,
      );
    },
  );
});

interface ObservatoryReport {
  grade: string;
  status: number;
  score: number;
  passed: number;
  total: number;
  tests: Record<string, { pass: boolean; result: string; modifier: number }>;
}

/**
 * The Observatory's own scan() (src/scanner/index.js), with the ports and path its CLI cannot pass: retrieve,
 * run every test, apply the same grading curve.
 */
const OBSERVATORY_SCAN = `
const [dir, host, httpPort, httpsPort, path] = process.argv.slice(1);
const { retrieve } = await import(dir + '/src/retriever/retriever.js');
const { ALL_TESTS, NUM_TESTS } = await import(dir + '/src/constants.js');
const { MINIMUM_SCORE_FOR_EXTRA_CREDIT } = await import(dir + '/src/grader/charts.js');
const { getGradeForScore, getScoreModifier } = await import(dir + '/src/grader/grader.js');
const r = await retrieve(host, { httpPort, httpsPort, path });
if (!r.responses.auto) throw new Error('the site is down');
let withExtraCredit = 100, uncurved = 100, passed = 0;
const tests = {};
for (const test of ALL_TESTS) {
  const t = test(r);
  const modifier = t.result ? getScoreModifier(t.result) : 0;
  passed += t.pass ? 1 : 0;
  withExtraCredit += modifier;
  if (modifier < 0) uncurved += modifier;
  tests[t.constructor.name] = { pass: t.pass, result: t.result, modifier };
}
const final = getGradeForScore(uncurved >= MINIMUM_SCORE_FOR_EXTRA_CREDIT ? withExtraCredit : uncurved);
process.stdout.write(JSON.stringify({ grade: final.grade, score: final.score, status: r.responses.auto.status,
  passed, total: NUM_TESTS, tests }));
`;

describe('DB-16: attachments through nginx', () => {
  /** A client of its own address, so the rate limits other tests use up do not apply to it. */
  const client = (path: string, options: Parameters<typeof send>[1] = {}) =>
    send(https(path), { ca, localAddress: '127.0.0.23', ...options });
  const PNG = Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    Buffer.alloc(300_000, 7), // over the 100 kB JSON body limit: attachments have their own
  ]);

  test('DB-16: when a file is attached and downloaded through nginx, then nginx sends it from UPLOAD_DIR by X-Accel-Redirect and /_uploads/ is not reachable itself', async () => {
    const json = { 'Content-Type': 'application/json' };
    const credentials = JSON.stringify({
      email: `nginx-${Date.now()}@example.test`,
      password: randomSecret(),
    });
    expect(
      (await client('/api/v1/auth/register', { method: 'POST', headers: json, body: credentials })).status,
    ).toBe(201);
    const login = await client('/api/v1/auth/login', { method: 'POST', headers: json, body: credentials });
    const auth = { Authorization: `Bearer ${JSON.parse(login.text).token}` };
    const note = await client('/api/v1/notes', {
      method: 'POST',
      headers: { ...json, ...auth },
      body: JSON.stringify({ title: 'with a file' }),
    });
    const noteId = JSON.parse(note.text).note.id as string;

    const upload = await client(`/api/v1/notes/${noteId}/attachments?filename=big.png`, {
      method: 'POST',
      headers: { ...auth, 'Content-Type': 'image/png' },
      body: PNG,
    });
    expect(upload.status).toBe(201);
    const location = String(upload.headers.location);

    const download = await client(location, { headers: auth });
    expect(download.status).toBe(200);
    expect(download.body.equals(PNG)).toBe(true);
    expect(download.headers['content-type']).toBe('image/png');
    expect(download.headers['content-disposition']).toMatch(/^attachment; filename="?big\.png"?$/);
    expect(download.headers['x-accel-redirect']).toBeUndefined();
    expectSecurityHeaders(download);
    expect(download.headers['content-security-policy']).toMatch(/^sandbox/);
    expect(download.headers['x-request-id']).toEqual(expect.any(String));

    // The internal prefix exists only for X-Accel-Redirect: asked for directly, nothing is there.
    const direct = await client(`/_uploads/${noteId}/${location.split('/').pop()}`);
    expect(direct.status).toBe(404);
    const others = await client(location);
    expect(others.status).toBe(401);
  });
});
