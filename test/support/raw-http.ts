import { connect } from 'node:net';
import type { Express } from 'express';
import { type RunningServer, startServer } from '../../src/server';
import type { TestApp } from './harness';

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** The app behind the production listener (src/server.ts) on a free port, so Node's own HTTP layer is tested too. */
export async function listen(
  built: Pick<TestApp, 'app' | 'config'>,
): Promise<RunningServer & { port: number }> {
  const running = await startServer(built.app as Express, {
    ...built.config.http,
    host: '127.0.0.1',
    port: 0,
  });
  return { ...running, port: Number(new URL(running.url).port) };
}

/** Splits what a server wrote on one connection into its responses; HEAD-less, for the statuses we send. */
export function parseResponses(raw: Buffer): RawResponse[] {
  const responses: RawResponse[] = [];
  let rest = raw;
  while (rest.length > 0) {
    const end = rest.indexOf('\r\n\r\n');
    if (end < 0) break;
    const [statusLine, ...lines] = rest.subarray(0, end).toString('latin1').split('\r\n');
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine ?? '')?.[1]);
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const colon = line.indexOf(':');
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    rest = rest.subarray(end + 4);
    let body: Buffer = Buffer.alloc(0);
    if (headers['transfer-encoding'] === 'chunked') {
      const chunks: Buffer[] = [];
      for (;;) {
        const lineEnd = rest.indexOf('\r\n');
        const size = Number.parseInt(rest.subarray(0, lineEnd).toString(), 16);
        rest = rest.subarray(lineEnd + 2);
        if (!size) {
          rest = rest.subarray(2);
          break;
        }
        chunks.push(rest.subarray(0, size));
        rest = rest.subarray(size + 2);
      }
      body = Buffer.concat(chunks);
    } else if (status !== 204 && status !== 304 && !(status >= 100 && status < 200)) {
      const length = Number(headers['content-length'] ?? rest.length);
      body = rest.subarray(0, length);
      rest = rest.subarray(length);
    }
    if (status >= 200 || status < 100) responses.push({ status, headers, body: body.toString('utf8') });
  }
  return responses;
}

/**
 * Writes bytes to the server as they are, with no client library to tidy them up (lying lengths, duplicate
 * headers, odd methods), and returns what came back once the server closed or went quiet.
 */
export function rawExchange(
  port: number,
  request: Buffer | string,
  { endWrite = false, quietMs = 1_500 }: { endWrite?: boolean; quietMs?: number } = {},
): Promise<RawResponse[]> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    const received: Buffer[] = [];
    let quiet: NodeJS.Timeout | undefined;
    const finish = () => {
      clearTimeout(quiet);
      socket.destroy();
      resolve(parseResponses(Buffer.concat(received)));
    };
    const rearm = () => {
      clearTimeout(quiet);
      quiet = setTimeout(finish, quietMs);
    };
    socket.on('connect', () => {
      socket.write(request);
      if (endWrite) socket.end();
      rearm();
    });
    socket.on('data', (chunk) => {
      received.push(chunk);
      rearm();
    });
    socket.on('end', finish);
    socket.on('close', finish);
    socket.on('error', (error: NodeJS.ErrnoException) =>
      error.code === 'ECONNRESET' ? finish() : reject(error),
    );
  });
}
