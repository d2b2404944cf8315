import { Agent, request } from 'node:http';

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One HTTP request; rejects on a network error (refused, reset), never on a status. */
export function send(
  url: string,
  options: {
    method?: string;
    headers?: Record<string, string>;
    body?: string;
    agent?: Agent;
    timeoutMs?: number;
  } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: options.method ?? 'GET', headers: options.headers, agent: options.agent ?? false },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          body += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
        res.on('error', reject);
      },
    );
    req.setTimeout(options.timeoutMs ?? 20_000, () => req.destroy(new Error('client timeout')));
    req.on('error', reject);
    req.end(options.body);
  });
}

export const json = (reply: Reply) => JSON.parse(reply.body) as Record<string, unknown>;

/** Registers and logs in a fresh user through the API; returns the bearer token. */
export async function signUp(baseUrl: string): Promise<string> {
  return (await signUpWithCredentials(baseUrl)).token;
}

export async function signUpWithCredentials(
  baseUrl: string,
): Promise<{ token: string; credentials: string }> {
  const credentials = JSON.stringify({
    email: `fault-${Date.now()}-${Math.random().toString(36).slice(2)}@example.test`,
    password: 'a long enough passphrase',
  });
  const headers = { 'content-type': 'application/json' };
  const registered = await send(`${baseUrl}/api/v1/auth/register`, {
    method: 'POST',
    headers,
    body: credentials,
  });
  if (registered.status !== 201)
    throw new Error(`register answered ${registered.status}: ${registered.body}`);
  const login = await send(`${baseUrl}/api/v1/auth/login`, { method: 'POST', headers, body: credentials });
  if (login.status !== 200) throw new Error(`login answered ${login.status}: ${login.body}`);
  return { token: json(login).token as string, credentials };
}

export interface LoadResult {
  ok: number;
  failed: number;
  /** Failures by kind: a status code, or a network error code such as ECONNRESET. */
  failures: Record<string, number>;
}

/**
 * Continuous requests from `concurrency` keep-alive clients on loopback until `until` resolves or the time
 * cap passes: bounded in time and count, and it stops by itself.
 */
export async function loadUntil(
  url: string,
  options: {
    headers?: Record<string, string>;
    concurrency: number;
    until: Promise<unknown>;
    capMs: number;
    maxRequests?: number;
  },
): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: options.concurrency });
  const result: LoadResult = { ok: 0, failed: 0, failures: {} };
  let done = false;
  void options.until.finally(() => {
    done = true;
  });
  const cap = setTimeout(() => {
    done = true;
  }, options.capMs);
  const maxRequests = options.maxRequests ?? 200_000;
  const fail = (kind: string) => {
    result.failed += 1;
    result.failures[kind] = (result.failures[kind] ?? 0) + 1;
  };
  const client = async () => {
    while (!done && result.ok + result.failed < maxRequests) {
      try {
        const reply = await send(url, { headers: options.headers, agent, timeoutMs: 10_000 });
        if (reply.status === 200) result.ok += 1;
        else fail(String(reply.status));
      } catch (error) {
        fail((error as { code?: string }).code ?? (error as Error).message);
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, client));
  clearTimeout(cap);
  agent.destroy();
  return result;
}
