import { randomBytes } from 'node:crypto';
import { get, handshake } from '../probe.js';
import { type Check, type Context, fail, type Outcome, pass, skip, warn } from '../types.js';

const SIX_MONTHS = 15_768_000;
const DAY_MS = 86_400_000;

/** The URL checks need --url; without it each says so rather than passing. */
function withUrl(run: (url: URL, context: Context) => Promise<Outcome>): Check['run'] {
  return async (context) => {
    if (!context.options.url) return skip('no --url given');
    return run(new URL(context.options.url), context);
  };
}

const at = (url: URL, path: string) => new URL(path, url).toString();

export const httpsRedirect: Check = {
  id: 'url.https-redirect',
  checklist: 'SEC-3',
  title: 'plain HTTP redirects to HTTPS',
  fix: 'the port-80 server of nginx/templates/shipshape.conf.template answers `return 301 https://$host$request_uri;`',
  run: withUrl(async (url, { options }) => {
    const plain = options.httpUrl ?? `http://${url.hostname}/`;
    const response = await get(at(new URL(plain), '/health')).catch((error: Error) => error);
    if (response instanceof Error)
      return warn(
        `${plain}: ${response.message} (nothing on port 80 also stops a downgrade, but browsers typing the name get no answer)`,
      );
    const location = String(response.headers.location ?? '');
    if ([301, 302, 307, 308].includes(response.status) && location.startsWith('https://'))
      return pass(`${plain} answers ${response.status} to ${location}`);
    return fail(
      `${plain} answers ${response.status}${location ? ` to ${location}` : ''}, not a redirect to https://`,
    );
  }),
};

export const hsts: Check = {
  id: 'url.hsts',
  checklist: 'SEC-4',
  title: 'HTTPS responses carry Strict-Transport-Security with a long max-age',
  fix: 'nginx/snippets/shipshape-security-headers.conf adds `Strict-Transport-Security: max-age=63072000; includeSubDomains; preload` on every response',
  run: withUrl(async (url, { options }) => {
    const response = await get(at(url, '/health'), options.caFile);
    const header = String(response.headers['strict-transport-security'] ?? '');
    if (!header) return fail('no Strict-Transport-Security header');
    const maxAge = Number(/max-age=(\d+)/i.exec(header)?.[1] ?? 0);
    if (maxAge < SIX_MONTHS) return warn(`Strict-Transport-Security: ${header} (max-age under six months)`);
    return pass(`Strict-Transport-Security: ${header}`);
  }),
};

const REQUIRED_HEADERS = [
  'content-security-policy',
  'x-content-type-options',
  'x-frame-options',
  'referrer-policy',
  'permissions-policy',
];

export const securityHeaders: Check = {
  id: 'url.security-headers',
  checklist: 'SEC-5',
  title: 'responses carry the security headers',
  fix: 'include snippets/shipshape-security-headers.conf in the server and in every location with its own add_header',
  run: withUrl(async (url, { options }) => {
    const paths = ['/health', `/doctor-${randomBytes(4).toString('hex')}`];
    const missing: string[] = [];
    for (const path of paths) {
      const response = await get(at(url, path), options.caFile);
      for (const name of REQUIRED_HEADERS.filter((header) => !response.headers[header]))
        missing.push(`${name} on ${path} (${response.status})`);
    }
    if (missing.length > 0) return fail(`missing: ${missing.join(', ')}`);
    return pass(`${REQUIRED_HEADERS.length} headers on a probe and on a 404`);
  }),
};

export const tlsVersion: Check = {
  id: 'url.tls-version',
  checklist: 'PXY-3',
  title: 'TLS 1.2 or newer only',
  fix: 'ssl_protocols TLSv1.2 TLSv1.3; (nginx/snippets/shipshape-tls.conf, Mozilla intermediate)',
  run: withUrl(async (url, { options }) => {
    const current = await handshake(url.toString(), options.caFile);
    const legacy = await handshake(url.toString(), options.caFile, {
      minVersion: 'TLSv1',
      maxVersion: 'TLSv1.1',
      ciphers: 'DEFAULT@SECLEVEL=0',
    }).catch(() => undefined);
    if (legacy) return fail(`the server accepts ${legacy.protocol}`);
    return pass(`negotiates ${current.protocol}; TLS 1.0 and 1.1 refused`);
  }),
};

export const certificateExpiry: Check = {
  id: 'url.certificate',
  checklist: 'PXY-3',
  title: 'the certificate is trusted and valid for three more weeks',
  fix: 'renew it: `certbot renew` (and check certbot.timer); a certificate under 21 days means renewal is failing',
  run: withUrl(async (url, { options }) => {
    const { certificate, authorized, authorizationError } = await handshake(url.toString(), options.caFile);
    if (!authorized) return fail(`not trusted: ${authorizationError} (a private CA: --ca-file)`);
    const days = (new Date(certificate.valid_to).getTime() - Date.now()) / DAY_MS;
    const sum = `expires ${new Date(certificate.valid_to).toISOString()} (${days.toFixed(1)} days)`;
    if (days < 7) return fail(sum);
    if (days < 21) return warn(sum);
    return pass(sum);
  }),
};

export const metricsPrivate: Check = {
  id: 'url.metrics-private',
  checklist: 'OBS-5',
  title: '/metrics is not served to the public',
  fix: 'keep `location = /metrics { return 404; }` in the site; Prometheus scrapes METRICS_HOST:METRICS_PORT on the host only',
  run: withUrl(async (url, { options }) => {
    const response = await get(at(url, '/metrics'), options.caFile);
    if (response.status === 200 && /^# (HELP|TYPE) /m.test(response.body))
      return fail(`${at(url, '/metrics')} serves Prometheus metrics to anyone`);
    return pass(`${at(url, '/metrics')} answers ${response.status}`);
  }),
};

export const serverTokens: Check = {
  id: 'url.server-tokens',
  checklist: 'SEC-8',
  title: 'no server or framework version in headers or error pages',
  fix: 'server_tokens off; in nginx (shipped snippet); the app sends no X-Powered-By (helmet)',
  run: withUrl(async (url, { options }) => {
    const found: string[] = [];
    for (const path of ['/health', `/doctor-${randomBytes(4).toString('hex')}`, '/metrics']) {
      const response = await get(at(url, path), options.caFile);
      const server = String(response.headers.server ?? '');
      if (/\d/.test(server)) found.push(`Server: ${server} on ${path}`);
      if (response.headers['x-powered-by'])
        found.push(`X-Powered-By: ${response.headers['x-powered-by']} on ${path}`);
      if (/nginx\/\d|Express|Apache\/\d/.test(response.body))
        found.push(`a version in the ${response.status} page of ${path}`);
    }
    if (found.length > 0) return fail(found.join('; '));
    return pass('no version in Server, X-Powered-By or error pages');
  }),
};

export const healthEndpoints: Check = {
  id: 'url.health',
  checklist: 'HLT-1',
  title: 'the health endpoints answer through the public URL',
  fix: 'see docs/operations.md: /health/ready is 503 while the database is down or migrations are pending',
  run: withUrl(async (url, { options }) => {
    const answers: string[] = [];
    let failed = false;
    for (const path of ['/health', '/health/live', '/health/ready']) {
      const response = await get(at(url, path), options.caFile).catch((error: Error) => error);
      if (response instanceof Error) {
        failed = true;
        answers.push(`${path} ${response.message}`);
      } else {
        failed ||= response.status !== 200;
        answers.push(`${path} ${response.status}`);
      }
    }
    return failed ? fail(answers.join(', ')) : pass(answers.join(', '));
  }),
};
