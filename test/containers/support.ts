import { mkdtempSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type CommandOptions, REPO, runCommand } from '../support/processes';
import { selfSignedCertArgs } from '../support/tls';
import { waitFor as poll } from '../support/waiting';

/** Helpers for the containers suite: real podman, docker-compose and openssl, nothing mocked. */

/** The machine's podman set-up and stand-in images (see .ci/steps/30-containers.sh, which finds them). */
export const CONTAINERS_TOOLS =
  process.env.SHIPSHAPE_CONTAINER_TOOLS ?? resolve(REPO, '..', 'shared', 'containers');
export const MINUTE = 60_000;

export interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command and resolves with its exit status (1 when it could not start) and output, whatever the status. */
export async function run(command: string, args: string[], options: CommandOptions = {}): Promise<Result> {
  try {
    const { status, stdout, stderr } = await runCommand(command, args, options);
    return { code: status ?? 1, stdout, stderr };
  } catch (error) {
    return { code: 1, stdout: '', stderr: String(error) };
  }
}

/** Like run, but a non-zero exit is an error carrying the command's output. */
export async function sh(command: string, args: string[], options: CommandOptions = {}): Promise<string> {
  const result = await run(command, args, options);
  if (result.code !== 0) {
    throw new Error(
      `${command} ${args.join(' ')} exited ${result.code}\n${result.stdout.slice(-4000)}\n${result.stderr.slice(-4000)}`,
    );
  }
  return result.stdout;
}

/**
 * Builds the repository's Dockerfile as `image` (Docker format, so HEALTHCHECK is kept), labelled with the test
 * version and, when given, the revision.
 */
export async function buildImage(image: string, revision?: string): Promise<void> {
  const args = ['--build-arg', 'APP_VERSION=0.0.0-ctrtest'];
  if (revision) args.push('--build-arg', `APP_REVISION=${revision}`);
  await sh('podman', ['build', '--format', 'docker', ...args, '-t', image, '.']);
}

/** What a compose project left behind in podman: its containers, and the volumes and networks named after it. */
export async function leftovers(project: string) {
  const containers = await sh('podman', [
    'ps',
    '-a',
    '--filter',
    `label=com.docker.compose.project=${project}`,
    '-q',
  ]);
  const ofProject = (names: string) => names.split('\n').filter((name) => name.startsWith(`${project}_`));
  return {
    containers: containers.split('\n').filter(Boolean),
    volumes: ofProject(await sh('podman', ['volume', 'ls', '--format', '{{.Name}}'])),
    networks: ofProject(await sh('podman', ['network', 'ls', '--format', '{{.Name}}'])),
  };
}

/** Polls each second until check returns a value other than undefined (podman commands are not cheap). */
export const waitFor = <T>(what: string, timeoutMs: number, check: () => Promise<T | undefined>) =>
  poll(what, check, { timeoutMs, intervalMs: 1000 });

/** podman's Docker API and the health-check ticker (../shared/containers/compose-env.sh). */
export async function startComposeEnv(): Promise<NodeJS.ProcessEnv> {
  const out = await sh(join(CONTAINERS_TOOLS, 'compose-env.sh'), ['start']);
  const host = /DOCKER_HOST=(\S+)/.exec(out)?.[1];
  if (!host) throw new Error(`compose-env.sh start printed no DOCKER_HOST: ${out}`);
  return { ...process.env, DOCKER_HOST: host, COMPOSE_INTERACTIVE_NO_CLI: '1' };
}

export const stopComposeEnv = () => run(join(CONTAINERS_TOOLS, 'compose-env.sh'), ['stop']);

export const tempDir = (prefix: string) => mkdtempSync(join(tmpdir(), `shipshape-${prefix}-`));

/** A self-signed certificate for localhost, written as fullchain.pem and privkey.pem in dir. */
export async function selfSignedCert(dir: string): Promise<string> {
  await sh('openssl', selfSignedCertArgs(join(dir, 'privkey.pem'), join(dir, 'fullchain.pem')));
  return join(dir, 'fullchain.pem');
}

export interface HttpResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One HTTPS request that trusts only the given CA; servername localhost for SNI. */
export function httpsRequest(
  url: string,
  ca: string,
  options: { method?: string; headers?: Record<string, string>; body?: unknown } = {},
): Promise<HttpResponse> {
  return new Promise((done, fail) => {
    // A Buffer goes as it is (a file upload: the caller sets its Content-Type); anything else as JSON.
    const raw = Buffer.isBuffer(options.body);
    const payload =
      options.body === undefined ? undefined : raw ? (options.body as Buffer) : JSON.stringify(options.body);
    const req = request(
      url,
      {
        method: options.method ?? 'GET',
        ca,
        servername: 'localhost',
        headers: {
          ...(payload && { 'content-length': String(Buffer.byteLength(payload)) }),
          ...(payload && !raw && { 'content-type': 'application/json' }),
          ...options.headers,
        },
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk) => {
          body += chunk;
        });
        res.on('end', () => done({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    // A request nobody answers fails after 30 s rather than hold a test until its own timeout.
    req.setTimeout(30_000, () => req.destroy(new Error(`no answer from ${url} in 30 s`)));
    req.on('error', fail);
    req.end(payload);
  });
}

export function writeSecret(dir: string, name: string, value: string): string {
  const path = join(dir, name);
  writeFileSync(path, `${value}\n`, { mode: 0o400 });
  return path;
}
