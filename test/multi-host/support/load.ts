import { Agent, request } from 'node:https';
import { sleep } from '../../support/waiting';

/** nginx's site as a client reaches it: HTTPS on loopback with the test's self-signed certificate. */
export interface Edge {
  httpsPort: number;
  ca: string;
}

export interface Answer {
  status: number;
  body: string;
}

/** One request to nginx from a chosen source address (a client of its own for nginx and the app). */
export function call(
  edge: Edge,
  path: string,
  options: {
    method?: string;
    headers?: Record<string, string>;
    body?: unknown;
    from?: string;
    agent?: Agent;
  } = {},
): Promise<Answer> {
  const body = options.body === undefined ? undefined : JSON.stringify(options.body);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: edge.httpsPort,
        path,
        method: options.method ?? 'GET',
        servername: 'localhost',
        ca: edge.ca,
        localAddress: options.from,
        agent: options.agent ?? false,
        headers: {
          host: `localhost:${edge.httpsPort}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...options.headers,
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          text += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
        res.on('error', reject);
      },
    );
    req.setTimeout(20_000, () => req.destroy(new Error('client timeout')));
    req.on('error', (error: Error & { reusedSocket?: boolean }) => {
      error.reusedSocket = req.reusedSocket;
      reject(error);
    });
    req.end(body);
  });
}

/** Registers and logs in a fresh user through nginx; returns the bearer header. */
export async function signUp(edge: Edge, from: string): Promise<Record<string, string>> {
  const credentials = {
    email: `multi-host-${Date.now()}-${Math.random().toString(36).slice(2)}@example.test`,
    password: 'a long enough passphrase',
  };
  const registered = await call(edge, '/api/v1/auth/register', { method: 'POST', body: credentials, from });
  if (registered.status !== 201)
    throw new Error(`register answered ${registered.status}: ${registered.body}`);
  const login = await call(edge, '/api/v1/auth/login', { method: 'POST', body: credentials, from });
  if (login.status !== 200) throw new Error(`login answered ${login.status}: ${login.body}`);
  return { authorization: `Bearer ${JSON.parse(login.body).token}` };
}

export interface Outcomes {
  ok: number;
  failed: number;
  /** Failures by kind: a status code, or a network error such as ECONNRESET. */
  failures: Record<string, number>;
}

export interface LoadTally {
  get: Outcomes;
  post: Outcomes;
  /** GETs sent again on a new connection after nginx closed a kept-alive one before answering. */
  retriedGets: number;
  seconds: number;
}

/**
 * A failed call rather than an answer. Not `instanceof Error`: Node's own errors come from another realm than
 * the one jest runs this file in.
 */
const isError = (result: Answer | Error): result is Error => !('status' in result);

const outcomes = (): Outcomes => ({ ok: 0, failed: 0, failures: {} });

/**
 * Steady traffic through nginx until stopped: one keep-alive client per source address, each paced under
 * nginx's per-address edge limit (20 r/s), three GETs of the notes list for every POST of a new note.
 * Bounded: it stops by itself after capMs.
 */
export function steadyLoad(
  edge: Edge,
  options: { from: string[]; headers: Record<string, string>; pauseMs?: number; capMs?: number },
): { stop(): Promise<LoadTally> } {
  const tally: LoadTally = { get: outcomes(), post: outcomes(), retriedGets: 0, seconds: 0 };
  const started = Date.now();
  let done = false;
  const cap = setTimeout(() => {
    done = true;
  }, options.capMs ?? 120_000);
  const record = (into: Outcomes, expected: number, result: Answer | Error) => {
    if (!isError(result) && result.status === expected) {
      into.ok += 1;
      return;
    }
    const kind = isError(result)
      ? ((result as { code?: string }).code ?? (result.message || result.name))
      : String(result.status);
    into.failed += 1;
    into.failures[kind] = (into.failures[kind] ?? 0) + 1;
  };
  const client = async (from: string) => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    for (let i = 0; !done; i += 1) {
      const isPost = i % 4 === 3;
      // A GET rides the kept-alive connection and, as browsers and HTTP clients do, is sent once more on a new
      // one when nginx closed the kept-alive one before answering (a reload closes idle client connections).
      // A POST takes a connection of its own, which nothing retries: one lost behind nginx fails the drill.
      const send = (over: Agent | undefined) =>
        call(edge, isPost ? '/api/v1/notes' : '/api/v1/notes?limit=5', {
          method: isPost ? 'POST' : 'GET',
          body: isPost ? { title: `load ${from} ${i}` } : undefined,
          headers: options.headers,
          from,
          agent: over,
        }).catch((error: Error & { reusedSocket?: boolean }) => error);
      let result = await send(isPost ? undefined : agent);
      if (!isPost && isError(result) && result.reusedSocket) {
        tally.retriedGets += 1;
        result = await send(undefined);
      }
      record(isPost ? tally.post : tally.get, isPost ? 201 : 200, result);
      await sleep(options.pauseMs ?? 60);
    }
    agent.destroy();
  };
  const clients = Promise.all(options.from.map(client));
  return {
    async stop() {
      done = true;
      await clients;
      clearTimeout(cap);
      tally.seconds = (Date.now() - started) / 1000;
      return tally;
    },
  };
}

/** 127.0.0.<first> .. 127.0.0.<first + count - 1>: one loopback source address per simulated client. */
export const loopbackClients = (first: number, count: number) =>
  Array.from({ length: count }, (_, i) => `127.0.0.${first + i}`);

export const describeTally = (tally: LoadTally) =>
  `${tally.get.ok + tally.get.failed} GET (${tally.get.failed} failed ${JSON.stringify(tally.get.failures)}), ` +
  `${tally.post.ok + tally.post.failed} POST (${tally.post.failed} failed ${JSON.stringify(tally.post.failures)}) ` +
  `in ${tally.seconds.toFixed(1)} s` +
  (tally.retriedGets > 0
    ? `; ${tally.retriedGets} GET sent again after nginx closed a kept-alive connection`
    : '');
