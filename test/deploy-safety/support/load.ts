import { Agent, request } from 'node:https';
import type { Socket } from 'node:net';

/** One answer the load generator saw: when (ms since the start), its status (0: no answer) and drill marker. */
export interface Answer {
  at: number;
  status: number;
  marker: string;
  ms: number;
  method: 'GET' | 'POST';
  /** Whether the last try went out on a kept-alive connection that had carried an earlier request. */
  reused: boolean;
  /** The error when nothing answered. */
  error?: string;
  /**
   * Sent again once, on a new connection, after a kept-alive connection closed before any byte of the answer
   * (nginx's reload closes idle ones): what the first try met.
   */
  retriedAfter?: string;
}

export interface Load {
  answers: Answer[];
  /** Stops sending and resolves once every request in flight has settled. */
  stop(): Promise<Answer[]>;
}

/**
 * A note creation instead of the read for one request in `every`, drawn at random: a fixed period would line up
 * with nginx's weighted round robin (one request in 20 at a 5 % step) and could send the canary only writes.
 */
export interface Writes {
  every: number;
  url: string;
  body: (n: number) => string;
  /**
   * Each on a connection of its own (true) or on the kept-alive ones like the reads (false). A POST is never
   * retried, so on a kept-alive connection it is exposed to the close race no server can rule out.
   */
  newConnection: boolean;
}

/**
 * Steady, bounded traffic over HTTPS: `rate` requests a second spread over several loopback source addresses
 * (nginx limits each address to 20 r/s), at most `maxInFlight` at once, each cut off after 10 s. Reads are
 * GETs of `url(n)` on kept-alive connections; `writes` mixes in POSTs.
 */
export function steadyLoad(options: {
  url: (n: number) => string;
  headers: Record<string, string>;
  ca: string;
  rate: number;
  sources?: string[];
  maxInFlight?: number;
  writes?: Writes;
}): Load {
  const sources = options.sources ?? ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5', '127.0.0.6'];
  const agents = (keepAlive: boolean) =>
    sources.map((localAddress) => new Agent({ keepAlive, maxSockets: 8, ca: options.ca, localAddress }));
  const keptAlive = agents(true);
  const oneShot = agents(false);
  const started = Date.now();
  const answers: Answer[] = [];
  const inFlight = new Set<Promise<void>>();
  const maxInFlight = options.maxInFlight ?? 32;
  let sent = 0;
  let stopped = false;

  const once = (n: number, begun = Date.now(), retriedAfter?: string): Promise<void> =>
    new Promise<void>((resolve) => {
      const writes = options.writes;
      const method = writes && Math.random() < 1 / writes.every ? 'POST' : 'GET';
      const body = method === 'POST' ? writes!.body(n) : undefined;
      const newConnection = retriedAfter !== undefined || (method === 'POST' && writes!.newConnection);
      let answered = false;
      const record = (status: number, marker: string, error?: string) => {
        answers.push({
          at: begun - started,
          status,
          marker,
          ms: Date.now() - begun,
          method,
          reused: req.reusedSocket,
          error,
          retriedAfter,
        });
        resolve();
      };
      // As browsers and HTTP clients do for an idempotent request (RFC 9112, 9.3.1): a kept-alive connection
      // that the server closed before sending any byte of the answer is retried once, on a new connection (the
      // agent's other idle connections may be closing at the same moment). A POST is not: the server may have
      // acted on it.
      const failed = (error: NodeJS.ErrnoException) => {
        const code = error.code ?? error.message;
        if (method === 'GET' && retriedAfter === undefined && req.reusedSocket && !answered) {
          void once(n, begun, code).then(resolve);
          return;
        }
        record(0, '', code);
      };
      const req = request(
        method === 'POST' ? writes!.url : options.url(n),
        {
          method,
          agent: (newConnection ? oneShot : keptAlive)[n % sources.length],
          headers: body ? { ...options.headers, 'content-type': 'application/json' } : options.headers,
          servername: 'localhost',
          timeout: 10_000,
        },
        (res) => {
          res.resume();
          res.on('end', () => record(res.statusCode ?? 0, String(res.headers['x-drill-release'] ?? '')));
          res.on('error', (error) => record(0, '', error.message));
        },
      );
      // Any byte of an answer on this request's connection means the server may have taken the request.
      const onBytes = () => {
        answered = true;
      };
      req.on('socket', (socket: Socket) => {
        socket.on('data', onBytes);
        req.once('close', () => socket.off('data', onBytes));
      });
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', failed);
      req.end(body);
    });

  const timer = setInterval(() => {
    const due = Math.floor(((Date.now() - started) / 1000) * options.rate);
    while (!stopped && sent < due && inFlight.size < maxInFlight) {
      const pending = once(sent++).finally(() => inFlight.delete(pending));
      inFlight.add(pending);
    }
    // Requests that could not start (all slots busy) are skipped, not queued: the rate stays bounded.
    sent = Math.max(sent, due);
  }, 10);

  return {
    answers,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await Promise.all(inFlight);
      for (const agent of [...keptAlive, ...oneShot]) agent.destroy();
      return answers;
    },
  };
}

const isFailure = (answer: Answer) => answer.status === 0 || answer.status >= 500;
const countBy = <T>(items: T[], key: (item: T) => string | number) =>
  items.reduce<Record<string, number>>((counts, item) => {
    counts[key(item)] = (counts[key(item)] ?? 0) + 1;
    return counts;
  }, {});

/** What a drill reports about the traffic around a bad release. */
export function summarise(answers: Answer[], badMarker: string) {
  const bad = answers.filter((answer) => answer.marker === badMarker);
  const failed = answers.filter(isFailure);
  const firstBad = bad.length > 0 ? Math.min(...bad.map((a) => a.at)) : undefined;
  const lastBad = bad.length > 0 ? Math.max(...bad.map((a) => a.at + a.ms)) : undefined;
  return {
    total: answers.length,
    posts: answers.filter((answer) => answer.method === 'POST').length,
    servedByBad: bad.length,
    badShare: answers.length > 0 ? bad.length / answers.length : 0,
    failed: failed.length,
    /** Failures by method, connection (new or kept-alive) and error or status: `GET kept-alive ECONNRESET`. */
    failures: countBy(
      failed,
      (a) =>
        `${a.method} ${a.reused ? 'kept-alive' : 'new'} ${a.error ?? a.status}${a.retriedAfter ? ' (retry)' : ''}`,
    ),
    noAnswer: answers.filter((answer) => answer.status === 0).length,
    errors: [...new Set(answers.filter((a) => a.error).map((a) => a.error))],
    retriedAfterReset: answers.filter((answer) => answer.retriedAfter !== undefined).length,
    statuses: countBy(answers, (a) => a.status),
    badServedForSeconds: firstBad === undefined ? 0 : ((lastBad ?? firstBad) - firstBad) / 1000,
  };
}
