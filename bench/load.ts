import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { haveWrk, type Pinning } from './system.js';

/** Pinned so a fresh machine without wrk gets the same load generator every time. */
const AUTOCANNON = 'autocannon@9.0.0';

export interface LoadRequest {
  url: string;
  method: 'GET' | 'POST';
  body?: string;
  token?: string;
  seconds: number;
  connections: number;
}

export interface LoadResult {
  requests: number;
  seconds: number;
  p50Ms: number;
  p99Ms: number;
  /** Socket errors and timeouts. */
  socketErrors: number;
  /** Answers outside 2xx/3xx (a 429 from the rate limiter would land here). */
  badStatus: number;
}

export interface LoadGenerator {
  name: string;
  run(request: LoadRequest): Promise<LoadResult>;
}

function collect(command: string[], env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command[0]!, command.slice(1), { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      err += chunk.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve(out);
      else reject(new Error(`${command.join(' ')} exited ${code}: ${err.trim() || out.trim()}`));
    });
  });
}

function wrk(pinning: Pinning): LoadGenerator {
  return {
    name: 'wrk',
    async run(request) {
      const command = [
        ...pinning.prefix('0'),
        'wrk',
        '-t1',
        `-c${request.connections}`,
        `-d${Math.max(1, Math.round(request.seconds))}s`,
        '--timeout',
        '5s',
        '-s',
        join(__dirname, 'wrk-report.lua'),
        request.url,
      ];
      const out = await collect(command, {
        ...process.env,
        BENCH_METHOD: request.method,
        BENCH_BODY: request.body ?? '',
        BENCH_TOKEN: request.token ?? '',
      });
      const line = out.split('\n').find((l) => l.startsWith('BENCH_JSON '));
      if (!line) throw new Error(`wrk printed no figures:\n${out}`);
      const r = JSON.parse(line.slice('BENCH_JSON '.length)) as Record<string, number>;
      return {
        requests: r.requests!,
        seconds: r.durationUs! / 1e6,
        p50Ms: r.p50Us! / 1000,
        p99Ms: r.p99Us! / 1000,
        socketErrors: r.connect! + r.read! + r.write! + r.timeout!,
        badStatus: r.status!,
      };
    },
  };
}

function autocannon(pinning: Pinning): LoadGenerator {
  return {
    name: AUTOCANNON,
    async run(request) {
      const headers = [
        ...(request.token ? ['-H', `authorization=Bearer ${request.token}`] : []),
        ...(request.body ? ['-H', 'content-type=application/json', '-b', request.body] : []),
      ];
      const command = [
        ...pinning.prefix('0'),
        'npx',
        '--yes',
        AUTOCANNON,
        '--json',
        '-c',
        String(request.connections),
        '-d',
        String(request.seconds),
        '-t',
        '5',
        '-m',
        request.method,
        ...headers,
        request.url,
      ];
      const out = await collect(command, process.env);
      const r = JSON.parse(out.slice(out.indexOf('{'))) as {
        requests: { total: number };
        latency: { p50: number; p99: number };
        duration: number;
        errors: number;
        timeouts: number;
        non2xx: number;
      };
      return {
        requests: r.requests.total,
        seconds: r.duration,
        p50Ms: r.latency.p50,
        p99Ms: r.latency.p99,
        socketErrors: r.errors,
        badStatus: r.non2xx,
      };
    },
  };
}

/** wrk when installed (it needs a fraction of the server's CPU), else autocannon from npm; BENCH_LOADGEN overrides. */
export function chooseLoadGenerator(pinning: Pinning): LoadGenerator {
  const wanted = process.env.BENCH_LOADGEN;
  if (wanted === 'autocannon' || (wanted !== 'wrk' && !haveWrk())) return autocannon(pinning);
  return wrk(pinning);
}
