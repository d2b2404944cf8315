import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../support/net';
import { REPO, run, runOk } from '../../support/processes';
import { selfSignedCertArgs } from '../../support/tls';
import { waitFor } from '../../support/waiting';

export interface PrivateNginx {
  dir: string;
  httpPort: number;
  httpsPort: number;
  /** The self-signed certificate, to trust it in clients (PEM). */
  cert: string;
  /** The rendered site file, as nginx reads it. */
  site: string;
  test(): { status: number | null; output: string };
  start(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * A main nginx.conf like Debian's: its http block sets the distribution's weak defaults (TLS 1.0 and 1.1,
 * server-preferred ciphers, gzip on), so the test proves the shipped snippets override them without a
 * duplicate-directive error. Everything nginx writes stays inside the private prefix.
 */
function mainConfig(dir: string): string {
  return `worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/logs/error.log warn;
events { worker_connections 256; }
http {
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    sendfile on;
    tcp_nopush on;
    ssl_protocols TLSv1 TLSv1.1 TLSv1.2 TLSv1.3;
    ssl_prefer_server_ciphers on;
    gzip on;
    access_log ${dir}/logs/access.log;
    client_body_temp_path ${dir}/temp/client;
    proxy_temp_path ${dir}/temp/proxy;
    fastcgi_temp_path ${dir}/temp/fastcgi;
    uwsgi_temp_path ${dir}/temp/uwsgi;
    scgi_temp_path ${dir}/temp/scgi;
    include sites-enabled/*.conf;
}
`;
}

/**
 * The shipped nginx/ files in a private prefix on high ports: snippets copied as they are, the site file
 * rendered by deploy/render-nginx-site.sh with only names, ports and paths of this machine.
 */
export async function privateNginx(
  upstream: string,
  options: { upstreams?: string[]; extraEnv?: Record<string, string> } = {},
): Promise<PrivateNginx> {
  const dir = mkdtempSync(join(tmpdir(), 'shipshape-nginx-'));
  // nginx's workers run as an unprivileged user when started by root: they must be able to read the files.
  chmodSync(dir, 0o755);
  for (const sub of [
    'conf/sites-enabled',
    'logs',
    'temp',
    'public/static',
    'acme/.well-known/acme-challenge',
  ]) {
    mkdirSync(join(dir, sub), { recursive: true });
  }
  cpSync(join(REPO, 'nginx', 'snippets'), join(dir, 'conf', 'snippets'), { recursive: true });
  runOk('openssl', selfSignedCertArgs(join(dir, 'key.pem'), join(dir, 'cert.pem')));
  const httpPort = await freePort();
  const httpsPort = await freePort();
  const rendered = runOk(join(REPO, 'deploy', 'render-nginx-site.sh'), [], {
    env: {
      ...process.env,
      SHIPSHAPE_SERVER_NAME: 'localhost',
      SHIPSHAPE_UPSTREAM: upstream,
      ...(options.upstreams ? { SHIPSHAPE_UPSTREAMS: options.upstreams.join(' ') } : {}),
      SHIPSHAPE_HTTP_PORT: String(httpPort),
      SHIPSHAPE_HTTPS_PORT: String(httpsPort),
      SHIPSHAPE_TLS_CERT: join(dir, 'cert.pem'),
      SHIPSHAPE_TLS_KEY: join(dir, 'key.pem'),
      SHIPSHAPE_ACME_ROOT: join(dir, 'acme'),
      SHIPSHAPE_PUBLIC_ROOT: join(dir, 'public'),
      SHIPSHAPE_ACCESS_LOG: join(dir, 'logs', 'shipshape.access.log'),
      ...options.extraEnv,
    },
  }).stdout;
  writeFileSync(join(dir, 'conf', 'sites-enabled', 'shipshape.conf'), rendered);
  writeFileSync(join(dir, 'conf', 'nginx.conf'), mainConfig(dir));

  const args = ['-p', `${dir}/`, '-c', join(dir, 'conf', 'nginx.conf')];
  let child: ChildProcess | undefined;
  return {
    dir,
    httpPort,
    httpsPort,
    cert: readFileSync(join(dir, 'cert.pem'), 'utf8'),
    site: rendered,
    test() {
      const result = run('nginx', ['-t', ...args]);
      return { status: result.status, output: result.stderr + result.stdout };
    },
    async start() {
      child = spawn('nginx', [...args, '-g', 'daemon off;'], { stdio: 'ignore' });
      await waitFor(
        'nginx to write its pid file',
        async () => existsSync(join(dir, 'nginx.pid')) || undefined,
      );
    },
    async stop() {
      const running = child;
      if (!running || running.exitCode !== null || running.signalCode !== null) return;
      // SIGQUIT is nginx's graceful stop.
      await new Promise<void>((resolve) => {
        running.once('exit', () => resolve());
        running.kill('SIGQUIT');
      });
    },
  };
}
