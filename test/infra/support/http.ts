import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  text: string;
}

export interface RawRequest {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** The CA that signed the server's certificate (the test's self-signed one). */
  ca?: string;
  /** Connect from this loopback address, to be a different client IP (127.0.0.2 ...). */
  localAddress?: string;
  /** The TLS SNI name, when it should differ from the URL's host. */
  servername?: string;
}

/**
 * One request, nothing done for us: no redirects followed, no decompression, no header added. Rejects when
 * the server closes the connection without answering (nginx's 444) or refuses the TLS handshake.
 */
export function send(url: string, options: RawRequest = {}): Promise<RawResponse> {
  const target = new URL(url);
  const request = target.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(
      target,
      {
        method: options.method ?? 'GET',
        headers: options.headers,
        ca: options.ca,
        localAddress: options.localAddress,
        servername: options.servername,
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const body = Buffer.concat(chunks);
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, text: body.toString('utf8') });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}
