import { randomUUID } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { Problem, type ProblemType, problemBody } from './problem.js';

/** What a bare answer from below the app still carries: it is data, and nothing may run, sniff or cache it. */
const BASE_HEADERS = {
  'Content-Type': 'application/problem+json',
  'X-Content-Type-Options': 'nosniff',
  'Content-Security-Policy': "default-src 'none'; frame-ancestors 'none'",
  'Cache-Control': 'no-store',
};

function kindOfParserError(code: string | undefined): { kind: ProblemType; detail: string } {
  switch (code) {
    case 'HPE_HEADER_OVERFLOW':
      return { kind: 'headers-too-large', detail: 'The request headers are larger than the server accepts.' };
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return { kind: 'body-too-large', detail: 'The chunk extensions are larger than the server accepts.' };
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return { kind: 'request-incomplete', detail: 'The request was not received in time.' };
    default:
      return {
        kind: 'malformed-request',
        detail: 'The request is not valid HTTP/1.1 (its method, headers, lengths or encoding).',
      };
  }
}

function rawAnswer(problem: Problem, extraHeaders: Record<string, string> = {}): string {
  const requestId = randomUUID();
  const body = JSON.stringify(problemBody(problem, requestId));
  const headers = {
    ...BASE_HEADERS,
    ...problem.headers,
    ...extraHeaders,
    'X-Request-Id': requestId,
    'Content-Length': String(Buffer.byteLength(body)),
    Connection: 'close',
  };
  const lines = Object.entries(headers).map(([name, value]) => `${name}: ${value}`);
  return `HTTP/1.1 ${problem.status} ${problem.title}\r\n${lines.join('\r\n')}\r\n\r\n${body}`;
}

/** HTTP/1.1 requires Host (RFC 9112, 3.2); true when the request lacked it and got its 400. */
export function refuseMissingHost(req: IncomingMessage, res: ServerResponse): boolean {
  if (req.headers.host !== undefined || req.httpVersion === '1.0') return false;
  const problem = new Problem('malformed-request', 'An HTTP/1.1 request must carry a Host header.');
  const body = JSON.stringify(problemBody(problem, randomUUID(), req.url?.split('?')[0]));
  res.writeHead(problem.status, {
    ...BASE_HEADERS,
    'Content-Length': Buffer.byteLength(body),
    Connection: 'close',
  });
  res.end(body);
  return true;
}

/**
 * Node's HTTP parser refuses some requests before the app sees them (a bad header, Content-Length beside
 * Transfer-Encoding, oversized headers, an unknown method, an Expect it cannot meet, CONNECT) and answers with
 * a bare status line or a closed socket. These listeners answer them as problem+json like everything else.
 */
export function answerClientErrors(server: Server): void {
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    // A response already under way on this socket cannot be followed by another: Node's own rule.
    const inFlight = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    if (error.code === 'ECONNRESET' || !socket.writable || inFlight?.headersSent) {
      socket.destroy();
      return;
    }
    const { kind, detail } = kindOfParserError(error.code);
    socket.end(rawAnswer(new Problem(kind, detail)));
  });

  // Node's own refusal of a missing Host is a bare 400 with no event to hook: the request listener calls
  // refuseMissingHost instead (createServer's requireHostHeader: false).
  server.on('checkExpectation', (req: IncomingMessage, res: ServerResponse) => {
    const problem = new Problem(
      'expectation-failed',
      `Expect: ${req.headers.expect} cannot be met; only 100-continue is understood.`,
    );
    const body = JSON.stringify(problemBody(problem, randomUUID(), req.url?.split('?')[0]));
    res.writeHead(problem.status, { ...BASE_HEADERS, 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
  });

  server.on('connect', (_req: IncomingMessage, socket: Duplex) => {
    const problem = new Problem('method-not-allowed', 'CONNECT is not supported: this is not a proxy.');
    socket.end(rawAnswer(problem, { Allow: 'GET, HEAD, POST, PATCH, DELETE, OPTIONS' }));
  });
}
