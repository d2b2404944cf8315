import { readFileSync } from 'node:fs';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect as netConnect } from 'node:net';
import { type PeerCertificate, type SecureVersion, connect as tlsConnect } from 'node:tls';

export interface Response {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

const TIMEOUT_MS = 5000;
const caOf = (caFile?: string) => (caFile ? [readFileSync(caFile, 'utf8')] : undefined);

/** One GET, redirects not followed, the first 64 kB of the body: what a client sees. */
export function get(url: string, caFile?: string): Promise<Response> {
  const target = new URL(url);
  const request = target.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(
      target,
      { method: 'GET', ca: caOf(caFile), timeout: TIMEOUT_MS, agent: false },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          if (body.length < 65_536) body += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer from ${url} in ${TIMEOUT_MS} ms`)));
    req.on('error', reject);
    req.end();
  });
}

export interface Handshake {
  protocol: string | null;
  certificate: PeerCertificate;
  authorized: boolean;
  authorizationError?: string;
}

/** A TLS handshake only, within the protocol range given; rejects when the server refuses it. */
export function handshake(
  url: string,
  caFile?: string,
  range: { minVersion?: SecureVersion; maxVersion?: SecureVersion; ciphers?: string } = {},
): Promise<Handshake> {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({
      host: target.hostname,
      port: Number(target.port || 443),
      servername: /^[\d.:]+$/.test(target.hostname) ? undefined : target.hostname,
      ca: caOf(caFile),
      rejectUnauthorized: false,
      timeout: TIMEOUT_MS,
      ...range,
    });
    socket.once('secureConnect', () => {
      resolve({
        protocol: socket.getProtocol(),
        certificate: socket.getPeerCertificate(),
        authorized: socket.authorized,
        authorizationError: socket.authorizationError?.toString(),
      });
      socket.end();
    });
    socket.once('timeout', () => socket.destroy(new Error('TLS handshake timed out')));
    socket.once('error', reject);
  });
}

/** Whether a TCP connection opens within the timeout. */
export function reachable(host: string, port: number, timeoutMs = 3000): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = netConnect({ host, port, timeout: timeoutMs });
    socket.once('connect', () => {
      socket.end();
      resolve(undefined);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(`no connection within ${timeoutMs} ms`);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}
