import { createServer, type IncomingMessage, type Server } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { listenOnLoopback } from '../../support/net';

export interface Receiver<T> {
  url: string;
  received: T[];
  close(): Promise<void>;
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const body = Buffer.concat(chunks);
  return req.headers['content-encoding'] === 'gzip' ? gunzipSync(body) : body;
}

async function listen<T>(
  handle: (req: IncomingMessage, body: Buffer) => T | undefined,
): Promise<Receiver<T>> {
  const received: T[] = [];
  const server: Server = createServer((req, res) => {
    readBody(req).then((body) => {
      const item = handle(req, body);
      if (item !== undefined) received.push(item);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  const port = await listenOnLoopback(server);
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

export interface Envelope {
  raw: string;
  header: Record<string, unknown>;
  items: { type: string; payload: Record<string, unknown> }[];
}

/** Stands in for Sentry's ingestion endpoint: keeps every envelope POSTed to /api/<project>/envelope/. */
export function sentryReceiver(): Promise<Receiver<Envelope>> {
  return listen((req, body) => {
    if (!/^\/api\/\d+\/envelope\/?/.test(req.url ?? '')) return undefined;
    const raw = body.toString('utf8');
    const [header, ...rest] = raw.split('\n').filter((line) => line.trim() !== '');
    const items: Envelope['items'] = [];
    for (let i = 0; i + 1 < rest.length; i += 2) {
      const itemHeader = JSON.parse(rest[i]!) as { type: string };
      let payload: Record<string, unknown> = {};
      try {
        payload = JSON.parse(rest[i + 1]!) as Record<string, unknown>;
      } catch {
        // attachments are not JSON
      }
      items.push({ type: itemHeader.type, payload });
    }
    return { raw, header: JSON.parse(header ?? '{}') as Record<string, unknown>, items };
  });
}

export interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: Record<string, unknown>;
  service: string;
}

type AnyValue = {
  stringValue?: string;
  intValue?: string | number;
  boolValue?: boolean;
  doubleValue?: number;
};
const readValue = (v: AnyValue) => v.stringValue ?? v.intValue ?? v.boolValue ?? v.doubleValue;
const toAttributes = (list: { key: string; value: AnyValue }[] = []) =>
  Object.fromEntries(list.map((a) => [a.key, readValue(a.value)]));

/** Stands in for an OpenTelemetry collector: OTLP/HTTP JSON on /v1/traces, flattened to spans. */
export async function otlpReceiver(): Promise<Receiver<OtlpSpan>> {
  const receiver = await listen<OtlpSpan[]>((req, body) => {
    if (req.url !== '/v1/traces') return undefined;
    const data = JSON.parse(body.toString('utf8')) as {
      resourceSpans: {
        resource: { attributes: { key: string; value: AnyValue }[] };
        scopeSpans: { spans: (Omit<OtlpSpan, 'attributes' | 'service'> & { attributes: never })[] }[];
      }[];
    };
    return data.resourceSpans.flatMap((rs) =>
      rs.scopeSpans.flatMap((ss) =>
        ss.spans.map((span) => ({
          ...span,
          attributes: toAttributes(span.attributes),
          service: String(toAttributes(rs.resource.attributes)['service.name']),
        })),
      ),
    );
  });
  return {
    url: receiver.url,
    get received() {
      return receiver.received.flat();
    },
    close: receiver.close,
  };
}
